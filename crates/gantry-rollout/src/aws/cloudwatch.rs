//! CloudWatch: the guard alarms' states.

use super::Clients;
use crate::decide::{Alarm, AlarmState};
use aws_sdk_cloudwatch::types::{AlarmType, StateValue};
use gantry_kit::Error;
use gantry_kit::aws::aws_error;

/// Fetches alarm states (metric and composite alarms); names CloudWatch does not know are
/// returned apart.
pub async fn alarm_states(
    aws: &Clients,
    names: &[String],
) -> Result<(Vec<Alarm>, Vec<String>), Error> {
    if names.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut found = Vec::new();
    for chunk in names.chunks(100) {
        let out = aws
            .cw
            .describe_alarms()
            .set_alarm_names(Some(chunk.to_vec()))
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .send()
            .await
            .map_err(|e| aws_error("CloudWatch DescribeAlarms", &e))?;
        let metric = out
            .metric_alarms()
            .iter()
            .map(|a| (a.alarm_name(), a.state_value(), a.state_reason()));
        let composite = out
            .composite_alarms()
            .iter()
            .map(|a| (a.alarm_name(), a.state_value(), a.state_reason()));
        for (name, value, reason) in metric.chain(composite) {
            found.push(Alarm {
                name: name.unwrap_or_default().to_owned(),
                state: match value {
                    Some(StateValue::Alarm) => AlarmState::Alarm,
                    Some(StateValue::Ok) => AlarmState::Ok,
                    _ => AlarmState::InsufficientData,
                },
                reason: reason.unwrap_or_default().to_owned(),
            });
        }
    }
    let missing = names
        .iter()
        .filter(|n| !found.iter().any(|a| &a.name == *n))
        .cloned()
        .collect();
    Ok((found, missing))
}
