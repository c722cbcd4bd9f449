//! Forms that keep their input: a refused form comes back with its reason beside it and what
//! was typed ([`FormProblem`]); amounts typed in a form parsed with the field named. A leaf.

use crate::AppError;
use axum::http::StatusCode;
use kc_money::Money;
use maud::{Markup, html};
use std::collections::BTreeMap;

/// A form that was refused: which form, why, and what was typed, so the page shows the
/// reason beside the form and keeps the input (a mistake never costs the user a full error
/// page or their typing).
pub(crate) struct FormProblem {
    pub form: String,
    pub message: String,
    pub status: StatusCode,
    pub values: BTreeMap<String, String>,
}

impl FormProblem {
    /// The problem for a refused form, or the error itself where it is not the user's to fix
    /// in the form (not logged in, not theirs, internal).
    pub(crate) fn from_error(
        form: &str,
        e: AppError,
        values: BTreeMap<String, String>,
    ) -> Result<FormProblem, AppError> {
        match e {
            AppError::BadRequest { .. } | AppError::Conflict { .. } => Ok(FormProblem {
                form: form.to_string(),
                message: e.message(),
                status: e.status(),
                values,
            }),
            other => Err(other),
        }
    }
    pub(crate) fn for_form<'a>(p: Option<&'a FormProblem>, form: &str) -> Option<&'a FormProblem> {
        p.filter(|p| p.form == form)
    }
    pub(crate) fn value(p: Option<&FormProblem>, field: &str) -> Option<String> {
        p.and_then(|p| p.values.get(field).cloned())
    }
}

/// The reason a form was refused, next to it.
pub(crate) fn problem_box(p: Option<&FormProblem>) -> Markup {
    html! { @if let Some(p) = p { div.error.form-error role="alert" { (p.message) } } }
}

pub(crate) fn form_money(v: &Option<String>, field: &str) -> Result<Option<Money>, AppError> {
    match v.as_deref().map(str::trim).filter(|x| !x.is_empty()) {
        None => Ok(None),
        Some(x) => {
            let m = Money::parse_amount(x).map_err(|e| AppError::BadRequest {
                code: "invalid",
                message: match e {
                    kc_money::ParseError::TooPrecise(_) => {
                        format!("{field}:“{x}”超过两位小数,金额精确到分 ({e})")
                    }
                    kc_money::ParseError::NotANumber(_) => {
                        format!("{field}:“{x}”不是有效金额,请填写如 1234.56 的数字 ({e})")
                    }
                    kc_money::ParseError::BadGrouping(_) | kc_money::ParseError::OutOfRange(_) => {
                        format!("{field}:{e}")
                    }
                },
            })?;
            if m.is_negative() || m == Money::ZERO {
                return Err(AppError::BadRequest {
                    code: "invalid",
                    message: format!("{field}:金额须为正数 (must be positive)"),
                });
            }
            Ok(Some(m))
        }
    }
}
