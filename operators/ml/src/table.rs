//! An in-memory, column-oriented table: the plain type every ML function here works on.
//! Missing values are `None`; a float column may also hold NaN, which validation reports.

use serde::{Deserialize, Serialize};

/// The values of one column. Every column of a table has the same length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "values", rename_all = "lowercase")]
pub enum Column {
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
    Str(Vec<Option<String>>),
}

/// A column's type, as schemas and statistics name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    Int,
    Float,
    Bool,
    /// Serialized as `"str"`; `"string"` (the name messages use) is accepted too.
    #[serde(alias = "string")]
    Str,
}

impl ColumnType {
    /// The name used in schemas, reports and messages: `int`, `float`, `bool`, `string`.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Int => "int",
            ColumnType::Float => "float",
            ColumnType::Bool => "bool",
            ColumnType::Str => "string",
        }
    }

    /// Int and float columns are numeric; bool and string ones are categorical.
    pub fn is_numeric(self) -> bool {
        matches!(self, ColumnType::Int | ColumnType::Float)
    }
}

impl std::fmt::Display for ColumnType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Column {
    pub fn len(&self) -> usize {
        match self {
            Column::Int(v) => v.len(),
            Column::Float(v) => v.len(),
            Column::Bool(v) => v.len(),
            Column::Str(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn column_type(&self) -> ColumnType {
        match self {
            Column::Int(_) => ColumnType::Int,
            Column::Float(_) => ColumnType::Float,
            Column::Bool(_) => ColumnType::Bool,
            Column::Str(_) => ColumnType::Str,
        }
    }

    /// An empty column of the given type.
    pub fn empty(ty: ColumnType) -> Column {
        match ty {
            ColumnType::Int => Column::Int(Vec::new()),
            ColumnType::Float => Column::Float(Vec::new()),
            ColumnType::Bool => Column::Bool(Vec::new()),
            ColumnType::Str => Column::Str(Vec::new()),
        }
    }

    /// Row `i` as a float: ints widen, bools are 0/1, strings and missing values are `None`.
    pub fn f64_at(&self, i: usize) -> Option<f64> {
        match self {
            Column::Int(v) => v[i].map(|x| x as f64),
            Column::Float(v) => v[i],
            Column::Bool(v) => v[i].map(|b| if b { 1.0 } else { 0.0 }),
            Column::Str(_) => None,
        }
    }

    /// Row `i` as a category string (`None` when missing). Numbers print as Rust does.
    pub fn str_at(&self, i: usize) -> Option<String> {
        match self {
            Column::Int(v) => v[i].map(|x| x.to_string()),
            Column::Float(v) => v[i].map(|x| x.to_string()),
            Column::Bool(v) => v[i].map(|b| b.to_string()),
            Column::Str(v) => v[i].clone(),
        }
    }

    pub fn is_missing(&self, i: usize) -> bool {
        match self {
            Column::Int(v) => v[i].is_none(),
            Column::Float(v) => v[i].is_none(),
            Column::Bool(v) => v[i].is_none(),
            Column::Str(v) => v[i].is_none(),
        }
    }

    /// The rows at `idx`, in that order.
    pub fn take(&self, idx: &[usize]) -> Column {
        match self {
            Column::Int(v) => Column::Int(idx.iter().map(|&i| v[i]).collect()),
            Column::Float(v) => Column::Float(idx.iter().map(|&i| v[i]).collect()),
            Column::Bool(v) => Column::Bool(idx.iter().map(|&i| v[i]).collect()),
            Column::Str(v) => Column::Str(idx.iter().map(|&i| v[i].clone()).collect()),
        }
    }

    /// Appends `other` (same type) to this column.
    pub fn extend(&mut self, other: Column) -> Result<(), TableError> {
        match (self, other) {
            (Column::Int(a), Column::Int(b)) => a.extend(b),
            (Column::Float(a), Column::Float(b)) => a.extend(b),
            (Column::Bool(a), Column::Bool(b)) => a.extend(b),
            (Column::Str(a), Column::Str(b)) => a.extend(b),
            (a, b) => {
                return Err(TableError::TypeMismatch {
                    column: String::new(),
                    expected: a.column_type(),
                    found: b.column_type(),
                })
            }
        }
        Ok(())
    }
}

/// A named column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    pub data: Column,
}

/// Errors building or combining tables; each names the column.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TableError {
    #[error("column '{column}' has {found} rows but the table has {expected}")]
    Length {
        column: String,
        expected: usize,
        found: usize,
    },
    #[error("column '{0}' appears twice")]
    Duplicate(String),
    #[error("column '{0}' is not in the data")]
    Missing(String),
    #[error("column '{column}' is {found}, expected {expected}")]
    TypeMismatch {
        column: String,
        expected: ColumnType,
        found: ColumnType,
    },
}

/// Columns of equal length with unique names, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Table {
    fields: Vec<Field>,
    rows: usize,
}

impl Table {
    /// A table from named columns; fails on unequal lengths or a repeated name.
    pub fn new(fields: Vec<Field>) -> Result<Table, TableError> {
        let rows = fields.first().map(|f| f.data.len()).unwrap_or(0);
        for (i, f) in fields.iter().enumerate() {
            if f.data.len() != rows {
                return Err(TableError::Length {
                    column: f.name.clone(),
                    expected: rows,
                    found: f.data.len(),
                });
            }
            if fields[..i].iter().any(|g| g.name == f.name) {
                return Err(TableError::Duplicate(f.name.clone()));
            }
        }
        Ok(Table { fields, rows })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| f.name.as_str())
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.fields.iter().find(|f| f.name == name).map(|f| &f.data)
    }

    /// The column, or an error naming it.
    pub fn require(&self, name: &str) -> Result<&Column, TableError> {
        self.column(name)
            .ok_or_else(|| TableError::Missing(name.to_string()))
    }

    /// The rows at `idx`, in that order.
    pub fn take(&self, idx: &[usize]) -> Table {
        Table {
            fields: self
                .fields
                .iter()
                .map(|f| Field {
                    name: f.name.clone(),
                    data: f.data.take(idx),
                })
                .collect(),
            rows: idx.len(),
        }
    }

    /// Appends the rows of `other`, which must have the same columns with the same types.
    pub fn append(&mut self, other: Table) -> Result<(), TableError> {
        if self.fields.is_empty() && self.rows == 0 {
            *self = other;
            return Ok(());
        }
        if other.fields.len() != self.fields.len() {
            let extra = other
                .names()
                .find(|n| self.column(n).is_none())
                .or_else(|| self.names().find(|n| other.column(n).is_none()))
                .unwrap_or_default()
                .to_string();
            return Err(TableError::Missing(extra));
        }
        let rows = other.rows;
        let mut theirs = other.fields;
        for f in &mut self.fields {
            let pos = theirs
                .iter()
                .position(|g| g.name == f.name)
                .ok_or_else(|| TableError::Missing(f.name.clone()))?;
            let g = theirs.swap_remove(pos);
            let (expected, found) = (f.data.column_type(), g.data.column_type());
            f.data
                .extend(g.data)
                .map_err(|_| TableError::TypeMismatch {
                    column: f.name.clone(),
                    expected,
                    found,
                })?;
        }
        self.rows += rows;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Table {
        Table::new(vec![
            Field {
                name: "a".into(),
                data: Column::Int(vec![Some(1), None, Some(3)]),
            },
            Field {
                name: "b".into(),
                data: Column::Str(vec![Some("x".into()), Some("y".into()), None]),
            },
        ])
        .unwrap()
    }

    #[test]
    fn take_and_append_keep_columns() {
        let mut a = t().take(&[2, 0]);
        assert_eq!(a.rows(), 2);
        assert_eq!(a.column("a"), Some(&Column::Int(vec![Some(3), Some(1)])));
        a.append(t()).unwrap();
        assert_eq!(a.rows(), 5);
        assert_eq!(
            a.require("zz").unwrap_err().to_string(),
            "column 'zz' is not in the data"
        );
    }

    #[test]
    fn unequal_lengths_name_the_column() {
        let err = Table::new(vec![
            Field {
                name: "a".into(),
                data: Column::Int(vec![Some(1)]),
            },
            Field {
                name: "b".into(),
                data: Column::Int(vec![]),
            },
        ])
        .unwrap_err();
        assert_eq!(err.to_string(), "column 'b' has 0 rows but the table has 1");
    }
}
