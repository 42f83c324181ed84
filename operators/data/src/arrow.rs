//! Table ↔ Arrow record batches, for the Parquet codec.
//!
//! Writing: int → Int64, float → Float64, bool → Boolean, string → Utf8, all nullable.
//! Reading: Int8…Int64 and UInt8…UInt64 → int (a UInt64 above i64::MAX is an error),
//! Float16/32/64 → float, Boolean → bool, Utf8/LargeUtf8/Utf8View → string, Null → an
//! all-missing string column; anything else is an error naming the column and its type.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float16Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type,
    UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, RecordBatchOptions,
    StringArray,
};
use arrow_schema::{ArrowError, DataType, Field as ArrowField, Schema, SchemaRef};
use cambium_ml::table::{Column, ColumnType, Field, Table};

use crate::error::{Error, Result};

/// The Arrow schema a table is written with.
pub fn schema_of(table: &Table) -> SchemaRef {
    Arc::new(Schema::new(
        table
            .fields()
            .iter()
            .map(|f| ArrowField::new(&f.name, data_type(f.data.column_type()), true))
            .collect::<Vec<_>>(),
    ))
}

fn data_type(ty: ColumnType) -> DataType {
    match ty {
        ColumnType::Int => DataType::Int64,
        ColumnType::Float => DataType::Float64,
        ColumnType::Bool => DataType::Boolean,
        ColumnType::Str => DataType::Utf8,
    }
}

/// A record batch holding `table`, with `schema` (from [`schema_of`]).
pub fn to_batch(table: &Table, schema: SchemaRef) -> Result<RecordBatch, ArrowError> {
    let columns: Vec<ArrayRef> = table
        .fields()
        .iter()
        .map(|f| -> ArrayRef {
            match &f.data {
                Column::Int(v) => Arc::new(Int64Array::from(v.clone())),
                Column::Float(v) => Arc::new(Float64Array::from(v.clone())),
                Column::Bool(v) => Arc::new(BooleanArray::from(v.clone())),
                Column::Str(v) => Arc::new(v.iter().map(|s| s.as_deref()).collect::<StringArray>()),
            }
        })
        .collect();
    let options = RecordBatchOptions::new().with_row_count(Some(table.rows()));
    RecordBatch::try_new_with_options(schema, columns, &options)
}

/// The table a record batch holds.
pub fn from_batch(batch: &RecordBatch) -> Result<Table> {
    let schema = batch.schema();
    let mut fields = Vec::with_capacity(batch.num_columns());
    for (field, array) in schema.fields().iter().zip(batch.columns()) {
        fields.push(Field {
            name: field.name().clone(),
            data: column_of(field.name(), array.as_ref())?,
        });
    }
    Ok(Table::new(fields)?)
}

fn ints<T>(array: &arrow_array::PrimitiveArray<T>) -> Column
where
    T: arrow_array::ArrowPrimitiveType,
    T::Native: Into<i64>,
{
    Column::Int(array.iter().map(|v| v.map(Into::into)).collect())
}

fn column_of(name: &str, array: &dyn Array) -> Result<Column> {
    Ok(match array.data_type() {
        DataType::Int8 => ints(array.as_primitive::<Int8Type>()),
        DataType::Int16 => ints(array.as_primitive::<Int16Type>()),
        DataType::Int32 => ints(array.as_primitive::<Int32Type>()),
        DataType::Int64 => ints(array.as_primitive::<Int64Type>()),
        DataType::UInt8 => ints(array.as_primitive::<UInt8Type>()),
        DataType::UInt16 => ints(array.as_primitive::<UInt16Type>()),
        DataType::UInt32 => ints(array.as_primitive::<UInt32Type>()),
        DataType::UInt64 => {
            let mut out = Vec::with_capacity(array.len());
            for v in array.as_primitive::<UInt64Type>() {
                out.push(match v {
                    None => None,
                    Some(v) => Some(i64::try_from(v).map_err(|_| Error::UnsupportedArrowType {
                        column: name.to_string(),
                        data_type: format!("UInt64 (value {v} is above the int maximum)"),
                    })?),
                });
            }
            Column::Int(out)
        }
        DataType::Float16 => Column::Float(
            array
                .as_primitive::<Float16Type>()
                .iter()
                .map(|v| v.map(f64::from))
                .collect(),
        ),
        DataType::Float32 => Column::Float(
            array
                .as_primitive::<Float32Type>()
                .iter()
                .map(|v| v.map(f64::from))
                .collect(),
        ),
        DataType::Float64 => Column::Float(array.as_primitive::<Float64Type>().iter().collect()),
        DataType::Boolean => Column::Bool(array.as_boolean().iter().collect()),
        DataType::Utf8 => Column::Str(strings(array.as_string::<i32>().iter())),
        DataType::LargeUtf8 => Column::Str(strings(array.as_string::<i64>().iter())),
        DataType::Utf8View => Column::Str(strings(array.as_string_view().iter())),
        DataType::Null => Column::Str(vec![None; array.len()]),
        other => {
            return Err(Error::UnsupportedArrowType {
                column: name.to_string(),
                data_type: other.to_string(),
            })
        }
    })
}

fn strings<'a>(values: impl Iterator<Item = Option<&'a str>>) -> Vec<Option<String>> {
    values.map(|v| v.map(str::to_string)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Date32Array, UInt64Array};

    #[test]
    fn unsupported_types_name_the_column() {
        let schema = Arc::new(Schema::new(vec![ArrowField::new(
            "day",
            DataType::Date32,
            true,
        )]));
        let batch =
            RecordBatch::try_new(schema, vec![Arc::new(Date32Array::from(vec![Some(1)]))]).unwrap();
        let err = from_batch(&batch).unwrap_err().to_string();
        assert!(err.contains("column 'day' has type Date32"), "{err}");

        let schema = Arc::new(Schema::new(vec![ArrowField::new(
            "n",
            DataType::UInt64,
            true,
        )]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(UInt64Array::from(vec![u64::MAX]))])
            .unwrap();
        let err = from_batch(&batch).unwrap_err().to_string();
        assert!(
            err.contains("column 'n'") && err.contains("above the int maximum"),
            "{err}"
        );
    }
}
