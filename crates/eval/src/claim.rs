//! When an award can be claimed: application windows (申报期) and claim deadlines after the
//! event. One pure rule, [`claimable`], used by the store (an application outside it is
//! refused with its words) and by the pages (what can be claimed now and until when).
//!
//! - A measure that no window opens and that has no `claim within` is open all the time (the
//!   shipped library before windows existed reads exactly as before).
//! - `claim within N years|months|days`: an application dated after the event date plus N is
//!   refused, window or not.
//! - With windows: an application is allowed only on a day inside a window that opens the
//!   measure and whose event period (if any) holds the event.

use crate::plain;
use jiff::civil::Date;
use kc_check::ir::{ClaimPeriod, Library};

/// An application may be made now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimable {
    /// The last day it may be made: the window's close or the claim deadline, whichever is
    /// first; `None` when neither limits it.
    pub until: Option<Date>,
    /// The window (index into `Library::windows`) it is made in, if any opens the measure.
    pub window: Option<usize>,
}

/// Why an application may not be made on that day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `claim within …` after the event has run out.
    DeadlinePassed {
        event: Date,
        period: ClaimPeriod,
        deadline: Date,
    },
    /// The next window for this event opens later.
    NotYetOpen { window: usize },
    /// Every window for this event has closed (the last one named).
    Closed { window: usize },
    /// Windows open the measure, but none for events of this date.
    NoWindowForEvent { event: Date },
}

impl Refusal {
    /// A stable code for APIs.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::DeadlinePassed { .. } => "claim_deadline_passed",
            Refusal::NotYetOpen { .. } => "window_not_open",
            Refusal::Closed { .. } => "window_closed",
            Refusal::NoWindowForEvent { .. } => "no_window_for_event",
        }
    }

    /// The reason in Chinese or English.
    pub fn words(&self, lib: &Library, en: bool) -> String {
        let window = |i: usize| {
            let w = &lib.windows[i];
            let (a, b) = w.applications;
            (plain::label(&w.label, en).to_string(), a, b)
        };
        match self {
            Refusal::DeadlinePassed {
                event,
                period,
                deadline,
            } => {
                if en {
                    format!(
                        "too late: applications must be made within {} of the event (dated {event}; deadline {deadline})",
                        period.words(true)
                    )
                } else {
                    format!(
                        "已超过申请期限:须在事项发生后{}内申请(事项日期 {event},截止 {deadline})",
                        period.words(false)
                    )
                }
            }
            Refusal::NotYetOpen { window: i } => {
                let (l, a, b) = window(*i);
                if en {
                    format!(
                        "the application window has not opened yet: “{l}” takes applications from {a} to {b}"
                    )
                } else {
                    format!("申报期尚未开始:“{l}”的申报期为 {a} 至 {b}")
                }
            }
            Refusal::Closed { window: i } => {
                let (l, a, b) = window(*i);
                if en {
                    format!(
                        "the application window has closed: “{l}” took applications from {a} to {b}"
                    )
                } else {
                    format!("申报期已结束:“{l}”的申报期为 {a} 至 {b}")
                }
            }
            Refusal::NoWindowForEvent { event } => {
                if en {
                    format!("no application window takes events dated {event}")
                } else {
                    format!("没有受理 {event} 所发生事项的申报期")
                }
            }
        }
    }
}

impl Claimable {
    /// `可申报,截至 2025-04-30` / `open until 2025-04-30`.
    pub fn words(&self, en: bool) -> String {
        match (self.until, en) {
            (Some(d), false) => format!("可申报,截至 {d}"),
            (Some(d), true) => format!("open for applications until {d}"),
            (None, false) => "可随时申报".to_string(),
            (None, true) => "open for applications at any time".to_string(),
        }
    }
}

/// Whether an application for measure `mi`, for an event dated `event` (`None`: no event yet,
/// the event period is not judged), may be made on `today`, and until when.
pub fn claimable(
    lib: &Library,
    mi: usize,
    event: Option<Date>,
    today: Date,
) -> Result<Claimable, Refusal> {
    let m = &lib.measures[mi];
    let deadline = match (m.claim_within, event) {
        (Some(period), Some(e)) => {
            // A deadline beyond the calendar is no deadline at all.
            let d = period.deadline(e);
            if let Some(d) = d
                && today > d
            {
                return Err(Refusal::DeadlinePassed {
                    event: e,
                    period,
                    deadline: d,
                });
            }
            d
        }
        _ => None,
    };
    let mut any = false;
    let mut fitting: Vec<usize> = Vec::new();
    for (i, w) in lib.windows.iter().enumerate() {
        if !w.measures.contains(&mi) {
            continue;
        }
        any = true;
        let fits = match (w.events, event) {
            (Some((a, b)), Some(e)) => e >= a && e <= b,
            _ => true,
        };
        if fits {
            fitting.push(i);
        }
    }
    if !any {
        return Ok(Claimable {
            until: deadline,
            window: None,
        });
    }
    let ws = &lib.windows;
    let open = fitting
        .iter()
        .copied()
        .filter(|&i| ws[i].applications.0 <= today && today <= ws[i].applications.1)
        .max_by_key(|&i| ws[i].applications.1);
    if let Some(i) = open {
        let close = ws[i].applications.1;
        return Ok(Claimable {
            until: Some(deadline.map_or(close, |d| d.min(close))),
            window: Some(i),
        });
    }
    let next = fitting
        .iter()
        .copied()
        .filter(|&i| ws[i].applications.0 > today)
        .min_by_key(|&i| ws[i].applications.0);
    if let Some(i) = next {
        return Err(Refusal::NotYetOpen { window: i });
    }
    let last = fitting
        .iter()
        .copied()
        .max_by_key(|&i| ws[i].applications.1);
    match (last, event) {
        (Some(i), _) => Err(Refusal::Closed { window: i }),
        (None, Some(e)) => Err(Refusal::NoWindowForEvent { event: e }),
        // Unreachable: without an event every window fits.
        (None, None) => Ok(Claimable {
            until: deadline,
            window: None,
        }),
    }
}
