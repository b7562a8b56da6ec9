//! The annotations a view shows: those of its period that apply to its filter. An
//! annotation without a service or team is the organisation's and applies to every
//! view; a team's applies to the team and its services; a service's to the service
//! and its team.

use duckdb::Connection;
use shiplog_model::{Annotation, EventId, Period, ServiceName};

use crate::QueryError;
use crate::figures::midnight;
use crate::scope::{Filter, Known};

/// The most annotations one read returns (the newest of the period): a chart cannot
/// show more, and a read stays bounded however many were posted.
pub const MAX_ANNOTATIONS: usize = 500;

/// The annotations of `period` that apply to `filter`, in time order.
pub fn list(
    conn: &Connection,
    known: &Known,
    period: Period,
    filter: &Filter,
) -> Result<Vec<Annotation>, QueryError> {
    let mut stmt = conn.prepare_cached(include_str!("sql/annotations.sql"))?;
    let rows = stmt.query_map(
        duckdb::params![
            midnight(period.from()),
            midnight(period.to()),
            MAX_ANNOTATIONS as i64
        ],
        |row| {
            let id: String = row.get(0)?;
            let at: chrono::NaiveDateTime = row.get(1)?;
            let service: Option<String> = row.get(3)?;
            Ok((id, at, row.get::<_, String>(2)?, service, row.get(4)?))
        },
    )?;
    let mut annotations = Vec::new();
    for row in rows {
        let (id, at, text, service, team): (_, _, _, Option<String>, Option<String>) = row?;
        let annotation = Annotation {
            // Stored from parsed values, so they parse again.
            id: EventId::parse(&id).map_err(|e| QueryError::Stored(e.to_string()))?,
            at: at.and_utc(),
            text,
            service: service
                .map(|s| ServiceName::parse(&s))
                .transpose()
                .map_err(|e| QueryError::Stored(e.to_string()))?,
            team,
        };
        if applies(&annotation, known, filter) {
            annotations.push(annotation);
        }
    }
    Ok(annotations)
}

/// Whether a view of `filter` shows `annotation`.
fn applies(annotation: &Annotation, known: &Known, filter: &Filter) -> bool {
    let service = annotation.service.as_ref().map(|s| s.as_str());
    // The team an annotation belongs to: its own, else its service's.
    let team = annotation
        .team
        .as_deref()
        .or_else(|| service.and_then(|s| known.team_of(s)));
    if service.is_none() && team.is_none() {
        return true;
    }
    let service_ok = filter
        .service
        .as_deref()
        .is_none_or(|wanted| match service {
            Some(s) => s == wanted,
            // A team's note shows on each of the team's services.
            None => team.is_some() && known.team_of(wanted) == team,
        });
    let team_ok = filter
        .team
        .as_deref()
        .is_none_or(|wanted| team == Some(wanted));
    service_ok && team_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::ScopedService;

    fn known() -> Known {
        let service = |s: &str, t: Option<&str>| ScopedService {
            service: s.into(),
            team: t.map(str::to_owned),
        };
        Known {
            services: vec![
                service("cart", Some("payments")),
                service("checkout", Some("payments")),
                service("search", Some("discovery")),
            ],
            aborted_production: Vec::new(),
        }
    }

    fn note(service: Option<&str>, team: Option<&str>) -> Annotation {
        Annotation {
            id: EventId::parse("a1").unwrap(),
            at: chrono::DateTime::UNIX_EPOCH,
            text: "new on-call rota".into(),
            service: service.map(|s| ServiceName::parse(s).unwrap()),
            team: team.map(str::to_owned),
        }
    }

    fn filter(service: Option<&str>, team: Option<&str>) -> Filter {
        Filter {
            service: service.map(str::to_owned),
            team: team.map(str::to_owned),
        }
    }

    #[test]
    fn the_organisations_notes_show_everywhere() {
        let k = known();
        for f in [
            filter(None, None),
            filter(Some("search"), None),
            filter(None, Some("payments")),
        ] {
            assert!(applies(&note(None, None), &k, &f));
        }
    }

    #[test]
    fn a_teams_note_shows_on_the_team_and_its_services_only() {
        let (k, n) = (known(), note(None, Some("payments")));
        assert!(applies(&n, &k, &filter(None, None)));
        assert!(applies(&n, &k, &filter(None, Some("payments"))));
        assert!(applies(&n, &k, &filter(Some("cart"), None)));
        assert!(!applies(&n, &k, &filter(Some("search"), None)));
        assert!(!applies(&n, &k, &filter(None, Some("discovery"))));
    }

    #[test]
    fn a_services_note_shows_on_the_service_and_its_team_only() {
        let (k, n) = (known(), note(Some("checkout"), None));
        assert!(applies(&n, &k, &filter(Some("checkout"), None)));
        assert!(applies(&n, &k, &filter(None, Some("payments"))));
        assert!(!applies(&n, &k, &filter(Some("cart"), None)));
        assert!(!applies(&n, &k, &filter(None, Some("discovery"))));
    }
}
