//! The ECS edge. The SDK's ECS types carry no serde support, so task definitions travel as the
//! JSON of the service model: a register request's body is replaced by the rendered JSON before
//! signing, and describe responses are read from the raw body the SDK received.

use crate::prune;
use aws_sdk_ecs::Client;
use aws_sdk_ecs::config::interceptors::AfterDeserializationInterceptorContextRef;
use aws_sdk_ecs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_ecs::types::TaskDefinitionField;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use gantry_kit::Error;
use gantry_kit::arn::TaskDefinitionRef;
use gantry_kit::aws::{AwsArgs, aws_error};
use serde_json::{Map, Value};
use std::sync::{Arc, Mutex};

/// An ECS client from the shared SDK config.
pub(crate) async fn connect(aws: &AwsArgs) -> Client {
    let sdk = gantry_kit::aws::sdk_config(aws, None).await;
    Client::new(&sdk)
}

/// Keeps a copy of the response body the SDK deserialised.
#[derive(Debug, Clone, Default)]
struct CaptureBody(Arc<Mutex<Option<Vec<u8>>>>);

impl Intercept for CaptureBody {
    fn name(&self) -> &'static str {
        "gantry-taskdef-capture-body"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if let Some(bytes) = context.response().body().bytes()
            && let Ok(mut slot) = self.0.lock()
        {
            *slot = Some(bytes.to_vec());
        }
        Ok(())
    }
}

impl CaptureBody {
    fn json(&self) -> Result<Value, Error> {
        let body = self.0.lock().ok().and_then(|mut s| s.take());
        let body = body.ok_or_else(|| Error::failed("ECS returned no response body"))?;
        serde_json::from_slice(&body)
            .map_err(|e| Error::failed(format!("ECS returned a body that is not JSON: {e}")))
    }
}

/// A registered revision as `DescribeTaskDefinition` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveRevision {
    pub arn: TaskDefinitionRef,
    pub revision: i64,
    pub status: String,
    /// The `taskDefinition` object with the tags (when any) as `tags`; describe-only keys kept.
    pub def: Map<String, Value>,
}

fn live_from(v: Value) -> Result<LiveRevision, Error> {
    let Value::Object(mut top) = v else {
        return Err(Error::failed("DescribeTaskDefinition: unexpected response"));
    };
    let tags = top.remove("tags");
    let Some(Value::Object(mut def)) = top.remove("taskDefinition") else {
        return Err(Error::failed("DescribeTaskDefinition: no taskDefinition"));
    };
    if let Some(t) = tags.filter(|t| t.as_array().is_some_and(|a| !a.is_empty())) {
        def.insert("tags".into(), t);
    }
    let s = |k: &str| def.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let arn = s("taskDefinitionArn")
        .parse()
        .map_err(|e| Error::failed(format!("DescribeTaskDefinition: {e}")))?;
    Ok(LiveRevision {
        arn,
        revision: def.get("revision").and_then(Value::as_i64).unwrap_or(0),
        status: s("status"),
        def,
    })
}

/// `DescribeTaskDefinition` of `reference` (ARN, `family` or `family:revision`) with its tags;
/// `None` when ECS has no such task definition.
pub async fn describe(client: &Client, reference: &str) -> Result<Option<LiveRevision>, Error> {
    let capture = CaptureBody::default();
    let result = client
        .describe_task_definition()
        .task_definition(reference)
        .include(TaskDefinitionField::Tags)
        .customize()
        .interceptor(capture.clone())
        .send()
        .await;
    match result {
        Ok(_) => live_from(capture.json()?).map(Some),
        Err(e)
            if e.as_service_error().and_then(|s| s.code()) == Some("ClientException")
                && e.as_service_error()
                    .and_then(|s| s.message())
                    .is_some_and(|m| m.to_ascii_lowercase().contains("unable to describe")) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws_error("ECS DescribeTaskDefinition", &e)),
    }
}

/// Every ACTIVE revision ARN of `family`.
pub async fn list_active(client: &Client, family: &str) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    let mut pages = client
        .list_task_definitions()
        .family_prefix(family)
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("ECS ListTaskDefinitions", &e))?;
        out.extend(page.task_definition_arns().iter().cloned());
    }
    // familyPrefix is a family on AWS; keep exactly this family whatever an emulator does.
    out.retain(|a| prune::parse_arn(a).is_some_and(|(f, _)| f == family));
    Ok(out)
}

/// The latest ACTIVE revision of `family`, if any.
pub async fn latest_active(client: &Client, family: &str) -> Result<Option<LiveRevision>, Error> {
    match describe(client, family).await? {
        Some(l) if l.status == "ACTIVE" => Ok(Some(l)),
        // AWS answers a family with its latest ACTIVE revision; an emulator may answer with a
        // deregistered one, so fall back to the newest ACTIVE in the list.
        _ => {
            let newest = list_active(client, family)
                .await?
                .into_iter()
                .filter_map(|a| prune::parse_arn(&a).map(|(_, r)| r).map(|r| (r, a)))
                .max();
            match newest {
                Some((_, arn)) => describe(client, &arn).await,
                None => Ok(None),
            }
        }
    }
}

/// Registers `def` (register-shaped JSON, tags included) as it is; returns (ARN, revision).
pub async fn register(
    client: &Client,
    def: &Map<String, Value>,
) -> Result<(TaskDefinitionRef, i64), Error> {
    let body = serde_json::to_vec(def)
        .map_err(|e| Error::failed(format!("internal: serialising the task definition: {e}")))?;
    let family = def.get("family").and_then(Value::as_str).unwrap_or("");
    let out = client
        .register_task_definition()
        .family(family)
        .customize()
        .mutate_request(move |req| {
            *req.body_mut() = SdkBody::from(body.clone());
            req.headers_mut()
                .insert("content-length", body.len().to_string());
        })
        .send()
        .await
        .map_err(|e| aws_error("ECS RegisterTaskDefinition", &e))?;
    let td = out
        .task_definition()
        .ok_or_else(|| Error::failed("ECS RegisterTaskDefinition: no task definition returned"))?;
    let arn = td
        .task_definition_arn()
        .unwrap_or_default()
        .parse()
        .map_err(|e| Error::failed(format!("ECS RegisterTaskDefinition: {e}")))?;
    Ok((arn, i64::from(td.revision())))
}

/// Deregisters one revision.
pub async fn deregister(client: &Client, arn: &str) -> Result<(), Error> {
    client
        .deregister_task_definition()
        .task_definition(arn)
        .send()
        .await
        .map_err(|e| aws_error("ECS DeregisterTaskDefinition", &e))?;
    Ok(())
}

/// Task definition ARNs the services of `cluster` run or list in a deployment.
pub async fn in_use(client: &Client, cluster: &str) -> Result<Vec<String>, Error> {
    let mut services = Vec::new();
    let mut pages = client
        .list_services()
        .cluster(cluster)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            aws_error("ECS ListServices", &e).with_hint(format!(
                "check cluster `{cluster}` (prune refuses to guess which revisions are in use)"
            ))
        })?;
        services.extend(page.service_arns().iter().cloned());
    }
    let mut used = Vec::new();
    for chunk in services.chunks(10) {
        let out = client
            .describe_services()
            .cluster(cluster)
            .set_services(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| aws_error("ECS DescribeServices", &e))?;
        for s in out.services() {
            used.extend(s.task_definition().map(str::to_owned));
            used.extend(
                s.deployments()
                    .iter()
                    .filter_map(|d| d.task_definition().map(str::to_owned)),
            );
            used.extend(
                s.task_sets()
                    .iter()
                    .filter_map(|t| t.task_definition().map(str::to_owned)),
            );
        }
    }
    used.sort();
    used.dedup();
    Ok(used)
}

/// The task definition ARN service `service` in `cluster` runs.
pub async fn service_task_definition(
    client: &Client,
    cluster: &str,
    service: &str,
) -> Result<String, Error> {
    let out = client
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .map_err(|e| aws_error("ECS DescribeServices", &e))?;
    out.services()
        .iter()
        .find_map(|s| s.task_definition().map(str::to_owned))
        .ok_or_else(|| {
            Error::failed(format!(
                "service `{service}` was not found in cluster `{cluster}`"
            ))
            .with_hint("check the service and cluster names (and the region)")
        })
}
