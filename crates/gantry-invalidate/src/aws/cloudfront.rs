//! CloudFront: create one invalidation (retrying `TooManyInvalidationsInProgress` at the poll
//! interval) and wait until one is Completed.

use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfront::operation::create_invalidation::CreateInvalidationError;
use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
use gantry_kit::Error;
use gantry_kit::aws::aws_error;
use gantry_kit::fmt::format_duration;
use gantry_kit::poll::{Clock, PollError, Probe, Schedule, poll};

/// One created (or found) invalidation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub id: String,
    pub status: String,
}

fn completed(status: &str) -> bool {
    // moto says COMPLETED, AWS says Completed.
    status.eq_ignore_ascii_case("completed")
}

/// Creates the invalidation of `batch` under `reference`, retrying while CloudFront has too
/// many invalidations in progress, every `schedule.interval` until `schedule.deadline` (exit 4).
pub(crate) async fn create<C: Clock>(
    client: &Client,
    clock: &C,
    schedule: Schedule,
    distribution_id: &str,
    batch: &[String],
    reference: &str,
) -> Result<Created, Error> {
    let quantity =
        i32::try_from(batch.len()).map_err(|_| Error::failed("internal: batch larger than i32"))?;
    let invalidation_batch = InvalidationBatch::builder()
        .paths(
            Paths::builder()
                .quantity(quantity)
                .set_items(Some(batch.to_vec()))
                .build()
                .map_err(|e| Error::failed(format!("internal: building paths: {e}")))?,
        )
        .caller_reference(reference)
        .build()
        .map_err(|e| Error::failed(format!("internal: building batch: {e}")))?;
    let result = poll(clock, schedule, |attempt| {
        let req = client
            .create_invalidation()
            .distribution_id(distribution_id)
            .invalidation_batch(invalidation_batch.clone());
        async move {
            match req.send().await {
                Ok(out) => {
                    let inv = out.invalidation();
                    Ok(Probe::Ready(Created {
                        id: inv.map(|i| i.id().to_owned()).unwrap_or_default(),
                        status: inv.map(|i| i.status().to_owned()).unwrap_or_default(),
                    }))
                }
                Err(e) if matches!(e.as_service_error(), Some(CreateInvalidationError::TooManyInvalidationsInProgress(_))) => {
                    tracing::warn!(
                        "CloudFront has too many invalidations in progress on {distribution_id} (attempt {attempt}); \
                         retrying in {} within the deadline",
                        format_duration(schedule.interval)
                    );
                    Ok(Probe::Pending("TooManyInvalidationsInProgress".into()))
                }
                Err(e) => {
                    let err = aws_error("CloudFront CreateInvalidation", &e);
                    let code = gantry_kit::aws::classify(&e).code;
                    Err(match e.as_service_error() {
                        _ if code.as_deref() == Some("InvalidationBatchAlreadyExists") => err.with_hint(
                            "this caller-reference was used before with other paths; leave caller-reference empty to derive one",
                        ),
                        Some(CreateInvalidationError::NoSuchDistribution(_)) => err.with_hint(format!(
                            "check distribution-id `{distribution_id}` and that the credentials are for its account"
                        )),
                        _ => err,
                    })
                }
            }
        }
    })
    .await;
    result.map_err(|e| match e {
        PollError::Probe(err) => err,
        PollError::Deadline {
            elapsed,
            answered: false,
            ..
        } => Error::deadline(format!(
            "CloudFront did not answer CreateInvalidation within {}",
            format_duration(elapsed)
        ))
        .with_hint(
            "the invalidation may have been created: a re-run with the same inputs sends the same \
             caller reference and reuses it; check the network and AWS_ENDPOINT_URL, or raise `timeout`",
        ),
        PollError::Deadline { elapsed, last, .. } => Error::deadline(format!(
            "could not create the invalidation within {}: CloudFront still answers {last}",
            format_duration(elapsed)
        ))
        .with_hint("other invalidations are in progress on this distribution; re-run later or raise `timeout`"),
    })
}

/// Waits until invalidation `invalidation_id` is Completed, polling every `schedule.interval`
/// until `schedule.deadline` (exit 4 past it); returns the final status. Also for callers that
/// create without waiting and wait later, after other work.
pub async fn wait_completed<C: Clock>(
    client: &Client,
    clock: &C,
    schedule: Schedule,
    distribution_id: &str,
    invalidation_id: &str,
) -> Result<String, Error> {
    let result = poll(clock, schedule, |_| {
        let req = client
            .get_invalidation()
            .distribution_id(distribution_id)
            .id(invalidation_id);
        async move {
            let out = req
                .send()
                .await
                .map_err(|e| aws_error("CloudFront GetInvalidation", &e))?;
            let status = out
                .invalidation()
                .map(|i| i.status().to_owned())
                .unwrap_or_default();
            if completed(&status) {
                Ok(Probe::Ready(status))
            } else {
                tracing::info!("invalidation {invalidation_id}: {status}");
                Ok(Probe::Pending(status))
            }
        }
    })
    .await;
    result.map_err(|e| match e {
        PollError::Probe(err) => err,
        PollError::Deadline {
            elapsed,
            last,
            answered: false,
            ..
        } => Error::deadline(format!(
            "CloudFront did not answer GetInvalidation of {invalidation_id} within {}: {last}",
            format_duration(elapsed)
        ))
        .with_hint(
            "the invalidation goes on in CloudFront; re-running the job waits for the same one",
        ),
        PollError::Deadline { elapsed, last, .. } => Error::deadline(format!(
            "invalidation {invalidation_id} is still {last} after {}",
            format_duration(elapsed)
        ))
        .with_hint(
            "the invalidation goes on in CloudFront; re-running the job waits for the same one",
        ),
    })
}
