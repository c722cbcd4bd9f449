//! The JSON wire formats of the engine, versioned: `kechuang/eval-input/v1` (an applicant, its
//! events and history, read against the library's vocabulary) and `kechuang/eval-output/v1`
//! (every outcome with amount, split, trace and conditions). Documented in `docs/json.md`.
//!
//! Serialization lives here, at the edge: the engine's types know nothing of JSON. Input is
//! validated field by field against the vocabulary, and every error names its JSON path
//! (`$.events[2].amount`) and what was wrong. Amounts are read exactly (numbers keep their
//! decimal text; no float is ever formed), must not be negative and have at most two decimals.

mod input;
mod output;
mod schema;

pub use input::{INPUT_SCHEMA, InputError, parse_input, parse_input_value, parse_value_text};
pub use output::{OUTPUT_SCHEMA, to_json, to_json_summary};
pub use schema::input_schema;
