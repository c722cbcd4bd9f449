//! The platform by feature: each module holds a feature's pages (and, where it has them, its
//! API routes), over the shared leaf modules [`crate::layout`], [`crate::labels`],
//! [`crate::forms`], [`crate::listing`] and the session in [`crate::auth`]. A feature imports no
//! other feature (the application page's materials are a part of [`applications`]).

pub mod applicants;
pub mod applications;
pub mod audit;
pub mod budget;
pub mod calculator;
pub mod calendar;
pub mod home;
pub mod library;
pub mod login;
pub mod market;
pub mod notices;
pub mod organisation;
pub mod overview;
pub mod plans;
pub mod policy_admin;
pub mod review;
pub mod simulate;
pub mod transfer;

use axum::Router;

/// Every feature's pages.
pub fn routes() -> Router<crate::Platform> {
    Router::new()
        .merge(home::routes())
        .merge(login::routes())
        .merge(library::routes())
        .merge(calculator::routes())
        .merge(applications::routes())
        .merge(review::routes())
        .merge(budget::routes())
        .merge(audit::routes())
        .merge(applicants::routes())
        .merge(calendar::routes())
        .merge(plans::routes())
        .merge(notices::routes())
        .merge(overview::routes())
        .merge(organisation::routes())
        .merge(market::routes())
        .merge(simulate::routes())
        .merge(policy_admin::routes())
        .merge(applications::materials::routes())
}
