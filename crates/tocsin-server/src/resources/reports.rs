//! Reports over the store: the effectiveness report of a period.

use super::{with_engine, Reply};
use crate::problem::Problem;
use crate::AppState;
use axum::extract::{Query, State};
use axum::Extension;
use chrono::{NaiveDate, TimeZone, Utc};
use serde::Deserialize;
use tocsin_core::effectiveness::EffectivenessReport;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PeriodQuery {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

#[utoipa::path(get, path = "/api/v1/reports/effectiveness", tag = "reports",
    params(("from" = Option<String>, Query, description = "First day (YYYY-MM-DD); default 30 days before `to`", format = Date), ("to" = Option<String>, Query, description = "Last day (YYYY-MM-DD); default today", format = Date)),
    responses((status = 200, description = "The effectiveness report", body = EffectivenessReport)))]
pub async fn effectiveness(
    State(st): State<AppState>,
    Extension(p): Extension<crate::auth::Principal>,
    Query(q): Query<PeriodQuery>,
) -> Result<Reply<EffectivenessReport>, Problem> {
    with_engine(&st, Some(p.clone()), move |e, now| {
        let to = q.to.unwrap_or_else(|| now.date_naive());
        let from = q.from.unwrap_or(to - chrono::Duration::days(30));
        if from > to {
            // Each date is valid; the pair is not: 422, naming the parameter.
            return Err(Problem::invalid(
                "query.from",
                format!("from {from} is after to {to}"),
            ));
        }
        let day = |d: NaiveDate| {
            d.and_hms_opt(0, 0, 0)
                .map(|t| Utc.from_utc_datetime(&t))
                .ok_or_else(|| Problem::bad_request("bad date"))
        };
        let end = to.succ_opt().ok_or_else(|| {
            Problem::invalid("query.to", format!("to {to} is the last representable day"))
        })?;
        Ok(e.effectiveness(day(from)?, day(end)?)?)
    })
    .await
}
