//! The option schemas of the built-in operators beyond `command`: data access, the ML
//! components, deploy, branching, sensors and email (the table of `ml-components.md`).
//! Which options name upstream tasks is declared here too, so the loader can add the
//! implied dependencies and check that the named tasks exist.

use crate::registry::{OperatorSpec, OptionSpec, OptionType as T};

const fn o(name: &'static str, ty: T, doc: &'static str) -> OptionSpec {
    OptionSpec {
        name,
        ty,
        required: false,
        templated: false,
        doc,
    }
}

const fn req(mut spec: OptionSpec) -> OptionSpec {
    spec.required = true;
    spec
}

const fn tpl(mut spec: OptionSpec) -> OptionSpec {
    spec.templated = true;
    spec
}

static QUERY: [OptionSpec; 5] = [
    req(o("conn", T::String, "the connection's name (cambium.toml [connections] or CAMBIUM_CONN_<NAME>)")),
    req(tpl(o("sql", T::String, "the SQL to run"))),
    tpl(o("binds", T::Array, "values passed as bind parameters ($1/? in the SQL), never spliced into it")),
    o("to", T::Any, "write the result as a Dataset: a format (\"parquet\", \"csv\", \"jsonl\") or #{ store, path, format }"),
    o("watermark", T::String, "a result column that grows as data arrives: take only rows above the highest value a successful run of this DAG took (none new: skipped)"),
];

static EXPORT: [OptionSpec; 4] = [
    req(o(
        "input",
        T::String,
        "the upstream task whose Dataset is exported",
    )),
    o(
        "store",
        T::String,
        "the object store's name (default \"artifacts\")",
    ),
    tpl(o(
        "path",
        T::String,
        "the key in the store (default: the task's artifact folder)",
    )),
    o(
        "format",
        T::String,
        "\"parquet\" (default), \"csv\" or \"jsonl\"",
    ),
];

static EXAMPLE_GEN: [OptionSpec; 7] = [
    o(
        "input",
        T::String,
        "the upstream task whose Dataset is split",
    ),
    o(
        "store",
        T::String,
        "with `pattern`: ingest files from this object store instead",
    ),
    tpl(o(
        "pattern",
        T::String,
        "with `store`: a glob of keys, e.g. \"landing/*.csv\"",
    )),
    o(
        "format",
        T::String,
        "format of the files matched by `pattern` (default: from the extension)",
    ),
    o(
        "splits",
        T::Map,
        "split names and weights (default #{ train: 8, eval: 2 })",
    ),
    o(
        "hash_keys",
        T::StringArray,
        "columns hashed to choose a row's split (default: every column)",
    ),
    tpl(o(
        "span",
        T::Any,
        "a span number recorded with the Examples (e.g. \"{{ ds_nodash }}\")",
    )),
];

static STATISTICS_GEN: [OptionSpec; 1] = [req(o(
    "input",
    T::String,
    "the upstream task whose Examples (or Dataset) are described",
))];

static SCHEMA_GEN: [OptionSpec; 4] = [
    o(
        "input",
        T::String,
        "the upstream statistics_gen task to infer the schema from (every split)",
    ),
    tpl(o(
        "schema_file",
        T::String,
        "a curated schema (JSON) to load instead of inferring one",
    )),
    o(
        "infer_ranges",
        T::Bool,
        "also infer numeric ranges: the observed [min, max] widened by range_margin (default false)",
    ),
    o(
        "range_margin",
        T::Float,
        "with infer_ranges: the fraction of the observed width added on each side (default 0.1)",
    ),
];

static EXAMPLE_VALIDATOR: [OptionSpec; 5] = [
    req(o(
        "statistics",
        T::String,
        "the statistics_gen task whose Statistics are checked",
    )),
    req(o(
        "schema",
        T::String,
        "the schema_gen task whose Schema they are checked against",
    )),
    o(
        "baseline",
        T::String,
        "\"previous_span\" (the last run's statistics of the same task) or a statistics_gen task",
    ),
    o(
        "drift",
        T::Any,
        "drift thresholds: a number for every feature, or #{ default: 0.1, alcohol: 0.05 }",
    ),
    o(
        "on_anomaly",
        T::String,
        "\"fail\" (default: the task fails) or \"warn\"",
    ),
];

static TRANSFORM: [OptionSpec; 4] = [
    req(o("input", T::String, "the example_gen task whose Examples are transformed")),
    o("schema", T::String, "a schema_gen task; its types decide how unlisted features are read"),
    o("label", T::String, "the label column (kept as it is, never a feature)"),
    o("features", T::Map, "feature name (or \"*\") to a kind: standardize, min_max, one_hot, vocabulary, bucketize, log, fill_missing, drop, passthrough"),
];

static TRAIN: [OptionSpec; 6] = [
    req(o("input", T::String, "the transform (or example_gen) task whose train split is used")),
    o("algorithm", T::String, "a built-in algorithm: logistic_regression, linear_regression, random_forest, decision_tree"),
    tpl(o("cmd", T::StringOrArray, "instead of `algorithm`: a trainer program (see the training protocol)")),
    tpl(o("hyperparameters", T::Any, "the algorithm's or program's hyperparameters")),
    o("label", T::String, "the label column (default: the transform's label)"),
    o("problem", T::String, "\"classification\" or \"regression\" (default: from the label)"),
];

static TUNE: [OptionSpec; 14] = [
    req(o("input", T::String, "the transform (or example_gen) task whose splits are used")),
    req(o("space", T::Map, "hyperparameter name to a list of values, or #{ min, max, scale: \"linear\"|\"log\", type: \"int\"|\"float\" }")),
    o("search", T::String, "\"grid\" (default) or \"random\""),
    o("max_trials", T::Int, "at most this many trials (default: the whole grid, or 10 for random search)"),
    o("max_parallel_trials", T::Int, "trials running at once (default 2)"),
    o("metric", T::String, "the metric on the eval split that ranks trials (default accuracy or rmse)"),
    o("goal", T::String, "\"maximize\" or \"minimize\" (default: by the metric)"),
    o("seed", T::Int, "seed of random search (default 0)"),
    o("early_stopping", T::Bool, "stop a trial whose score on a quarter of the data is below the median of finished trials (default true)"),
    o("algorithm", T::String, "the built-in algorithm each trial trains"),
    tpl(o("cmd", T::StringOrArray, "instead of `algorithm`: a trainer program")),
    tpl(o("hyperparameters", T::Any, "fixed hyperparameters every trial gets")),
    o("label", T::String, "the label column (default: the transform's label)"),
    o("problem", T::String, "\"classification\" or \"regression\" (default: from the label)"),
];

static EVALUATE: [OptionSpec; 7] = [
    req(o("model", T::String, "the train task whose Model is evaluated")),
    o("examples", T::String, "the transform or example_gen task whose eval split is used (default: the model's input)"),
    o("slices", T::StringArray, "columns to compute the metrics per value of"),
    o("thresholds", T::Map, "#{ accuracy: #{ min: 0.8 }, rmse: #{ max: 1.0 } }"),
    o("baseline", T::String, "\"production\": compare with the model version the registry serves"),
    o("max_regression", T::Any, "how much worse than the baseline a metric may be: a number, or per metric #{ accuracy: 0.01 }"),
    o("model_name", T::String, "the registry's model name for the baseline (default: the DAG id)"),
];

static DEPLOY: [OptionSpec; 6] = [
    req(o(
        "model",
        T::String,
        "the train task whose Model is pushed",
    )),
    o(
        "blessing",
        T::String,
        "the evaluate task whose blessing gates the push; not blessed → skipped",
    ),
    o(
        "target",
        T::String,
        "\"registry\" (default), \"store\" or \"http\"",
    ),
    tpl(o(
        "name",
        T::String,
        "the registry's model name (default: the DAG id)",
    )),
    tpl(o(
        "url",
        T::String,
        "target \"http\": where the pushed model's metadata is POSTed",
    )),
    tpl(o(
        "store",
        T::String,
        "target \"store\": the object store (and `path`) the model files are copied to",
    )),
];

static BRANCH: [OptionSpec; 3] = [
    req(tpl(o(
        "condition",
        T::String,
        "a template; true/yes/1 follow `then`, anything else `else`",
    ))),
    o(
        "then",
        T::StringOrArray,
        "the downstream task(s) run when the condition holds",
    ),
    o(
        "else",
        T::StringOrArray,
        "the downstream task(s) run otherwise",
    ),
];

static WAIT_FOR_OBJECT: [OptionSpec; 5] = [
    req(o("store", T::String, "the object store's name")),
    tpl(o("key", T::String, "the key to wait for")),
    tpl(o("prefix", T::String, "or: any key under this prefix")),
    o(
        "poke_interval",
        T::Duration,
        "how often to look (default \"30s\")",
    ),
    o("timeout", T::Duration, "give up after this long"),
];

static WAIT_FOR_QUERY: [OptionSpec; 5] = [
    req(o("conn", T::String, "the connection's name")),
    req(tpl(o(
        "sql",
        T::String,
        "succeeds when the first value of the first row is true/non-zero",
    ))),
    o(
        "poke_interval",
        T::Duration,
        "how often to look (default \"30s\")",
    ),
    o(
        "timeout",
        T::Duration,
        "give up after this long (counted from the first poke)",
    ),
    tpl(o("binds", T::Array, "bind parameters")),
];

static EMAIL: [OptionSpec; 5] = [
    req(tpl(o("to", T::StringOrArray, "recipients"))),
    req(tpl(o("subject", T::String, "the subject"))),
    tpl(o("body", T::String, "the body")),
    o(
        "conn",
        T::String,
        "the SMTP connection: smtp://[user:password@]host[:port][?from=address] (default \"smtp\")",
    ),
    tpl(o(
        "from",
        T::String,
        "the sender (default: the connection's `from`, else cambium@<host>)",
    )),
];

/// The tasks an option of one of these operators names (the loader adds the edges).
pub const TASK_REFERENCES: [&str; 8] = [
    "input",
    "statistics",
    "schema",
    "model",
    "examples",
    "blessing",
    "baseline",
    "inputs",
];

/// Operators that are declared (so a file using them gets a clear message) but cannot run
/// in this version of Cambium.
pub const NOT_YET: [&str; 0] = [];

macro_rules! op {
    ($name:literal, $doc:literal, $opts:ident) => {
        OperatorSpec {
            name: $name,
            doc: $doc,
            options: &$opts,
        }
    };
}

/// The catalog, in the order of `ml-components.md`.
pub static CATALOG: [OperatorSpec; 15] = [
    op!(
        "query",
        "runs SQL on a connection (SQLite, Postgres, MySQL)",
        QUERY
    ),
    op!("export", "writes a Dataset to a store in a format", EXPORT),
    op!(
        "example_gen",
        "ingests a Dataset or files and splits it reproducibly",
        EXAMPLE_GEN
    ),
    op!(
        "statistics_gen",
        "per-feature statistics per split",
        STATISTICS_GEN
    ),
    op!("schema_gen", "infers (or loads) a schema", SCHEMA_GEN),
    op!(
        "example_validator",
        "checks statistics against the schema and a baseline",
        EXAMPLE_VALIDATOR
    ),
    op!(
        "transform",
        "fits feature preprocessing on train, applies it to every split",
        TRANSFORM
    ),
    op!(
        "train",
        "trains a model (built-in algorithm or a program)",
        TRAIN
    ),
    op!("tune", "hyperparameter search; each trial is a task", TUNE),
    op!(
        "evaluate",
        "metrics, slices, thresholds, comparison with production; a blessing",
        EVALUATE
    ),
    op!(
        "deploy",
        "pushes a blessed model to the registry, a store or a URL",
        DEPLOY
    ),
    op!("branch", "runs only the listed downstream tasks", BRANCH),
    op!(
        "wait_for_object",
        "waits for an object in a store",
        WAIT_FOR_OBJECT
    ),
    op!(
        "wait_for_query",
        "waits until a query returns true",
        WAIT_FOR_QUERY
    ),
    op!("email", "sends an email", EMAIL),
];
