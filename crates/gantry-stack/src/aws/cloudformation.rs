//! The CloudFormation edge: requests from domain values, answers as domain values
//! ([`StackInfo`], [`ChangeSetView`], [`StackEvent`]); every SDK error mapped through the kit.

use crate::changes::{Action, Detail, Replacement, ResourceChange};
use crate::events::StackEvent;
use crate::plan::{ChangeSetKind, says_no_changes};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::config::Region;
use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Parameter, Tag, TemplateStage};
use aws_smithy_types::date_time::Format;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use gantry_kit::Error;
use gantry_kit::aws::aws_error;
use indexmap::IndexMap;
use std::future::Future;
use std::pin::Pin;

/// CloudFormation clients per region (an environment's stacks may live in several).
pub type Regional = super::Regional<Client>;

/// The client for `region` (`None`: the configured one).
pub fn build(sdk: &aws_types::SdkConfig, region: Option<&str>) -> Client {
    let mut b = aws_sdk_cloudformation::config::Builder::from(sdk);
    if let Some(r) = region {
        b = b.region(Region::new(r.to_owned()));
    }
    Client::from_conf(b.build())
}

/// A stack as DescribeStacks reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackInfo {
    pub id: String,
    pub name: String,
    pub status: String,
    pub reason: Option<String>,
    pub outputs: IndexMap<String, String>,
    pub drift: Option<String>,
    /// RFC 3339; the creation time when never updated.
    pub last_updated: Option<String>,
    pub termination_protection: bool,
}

fn is_missing_stack<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ValidationError") && e.message().is_some_and(|m| m.contains("does not exist"))
}

/// DescribeStacks for one stack; `None` when it does not exist.
pub async fn describe_stack(client: &Client, name: &str) -> Result<Option<StackInfo>, Error> {
    let out = match client.describe_stacks().stack_name(name).send().await {
        Ok(o) => o,
        Err(e) if e.as_service_error().is_some_and(is_missing_stack) => return Ok(None),
        Err(e) => return Err(aws_error("CloudFormation DescribeStacks", &e)),
    };
    let Some(s) = out.stacks().first() else {
        return Ok(None);
    };
    let time = s.last_updated_time().or(s.creation_time());
    Ok(Some(StackInfo {
        id: s.stack_id().unwrap_or_default().to_owned(),
        name: s.stack_name().unwrap_or(name).to_owned(),
        status: s
            .stack_status()
            .map(|x| x.as_str().to_owned())
            .unwrap_or_default(),
        reason: s.stack_status_reason().map(str::to_owned),
        outputs: s
            .outputs()
            .iter()
            .filter_map(|o| {
                Some((
                    o.output_key()?.to_owned(),
                    o.output_value().unwrap_or_default().to_owned(),
                ))
            })
            .collect(),
        drift: s
            .drift_information()
            .and_then(|d| d.stack_drift_status())
            .map(|d| d.as_str().to_owned()),
        last_updated: time.and_then(|t| t.fmt(Format::DateTime).ok()),
        termination_protection: s.enable_termination_protection().unwrap_or(false),
    }))
}

/// Where the change set's template comes from.
#[derive(Debug, Clone)]
pub enum TemplateSource<'a> {
    Body(&'a str),
    Url(String),
}

/// Everything CreateChangeSet needs.
#[derive(Debug, Clone)]
pub struct ChangeSetRequest<'a> {
    pub stack_name: &'a str,
    pub change_set_name: String,
    pub kind: ChangeSetKind,
    pub template: TemplateSource<'a>,
    pub parameters: &'a [(String, String)],
    pub tags: &'a [(String, String)],
    pub capabilities: &'a [String],
    pub role_arn: Option<&'a str>,
    pub description: String,
}

/// CreateChangeSet's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    Id(String),
    /// The request itself was refused because nothing changes (moto words it "No updates are
    /// to be performed."; AWS does so for UpdateStack).
    NoChanges,
}

pub async fn create_change_set(
    client: &Client,
    r: &ChangeSetRequest<'_>,
) -> Result<Created, Error> {
    let mut req = client
        .create_change_set()
        .stack_name(r.stack_name)
        .change_set_name(&r.change_set_name)
        .change_set_type(ChangeSetType::from(r.kind.as_str()))
        .include_nested_stacks(true)
        .description(&r.description)
        .set_role_arn(r.role_arn.map(str::to_owned));
    req = match &r.template {
        TemplateSource::Body(b) => req.template_body(*b),
        TemplateSource::Url(u) => req.template_url(u),
    };
    for (k, v) in r.parameters {
        req = req.parameters(
            Parameter::builder()
                .parameter_key(k)
                .parameter_value(v)
                .build(),
        );
    }
    for (k, v) in r.tags {
        req = req.tags(Tag::builder().key(k).value(v).build());
    }
    for c in r.capabilities {
        req = req.capabilities(Capability::from(c.as_str()));
    }
    match req.send().await {
        Ok(o) => Ok(Created::Id(o.id().unwrap_or_default().to_owned())),
        Err(e)
            if e.as_service_error()
                .and_then(ProvideErrorMetadata::message)
                .is_some_and(says_no_changes) =>
        {
            Ok(Created::NoChanges)
        }
        Err(e) => Err(aws_error("CloudFormation CreateChangeSet", &e)),
    }
}

/// A change set as DescribeChangeSet reports it (all pages; nested change sets expanded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSetView {
    pub id: String,
    pub stack_id: String,
    pub stack_name: String,
    pub status: String,
    pub execution_status: String,
    pub reason: Option<String>,
    pub changes: Vec<ResourceChange>,
}

/// DescribeChangeSet with property values, every page, nested change sets included (each
/// `AWS::CloudFormation::Stack` change's own change set, to a depth of 5).
pub async fn describe_change_set(client: &Client, id: &str) -> Result<ChangeSetView, Error> {
    describe_tree(client, id.to_owned(), 0).await
}

fn describe_tree(
    client: &Client,
    id: String,
    depth: u8,
) -> Pin<Box<dyn Future<Output = Result<ChangeSetView, Error>> + Send + '_>> {
    Box::pin(async move {
        let mut view = describe_pages(client, &id).await?;
        if depth < 5 {
            for c in &mut view.changes {
                if let Some(nested_id) = c.nested_change_set.take() {
                    let nested = describe_tree(client, nested_id, depth + 1).await?;
                    c.change.nested = nested.changes;
                }
            }
        }
        Ok(ChangeSetView {
            id: view.id,
            stack_id: view.stack_id,
            stack_name: view.stack_name,
            status: view.status,
            execution_status: view.execution_status,
            reason: view.reason,
            changes: view.changes.into_iter().map(|c| c.change).collect(),
        })
    })
}

struct Pages {
    id: String,
    stack_id: String,
    stack_name: String,
    status: String,
    execution_status: String,
    reason: Option<String>,
    changes: Vec<PendingChange>,
}

struct PendingChange {
    change: ResourceChange,
    nested_change_set: Option<String>,
}

async fn describe_pages(client: &Client, id: &str) -> Result<Pages, Error> {
    let mut token: Option<String> = None;
    let mut pages: Option<Pages> = None;
    loop {
        let out = client
            .describe_change_set()
            .change_set_name(id)
            .include_property_values(true)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| aws_error("CloudFormation DescribeChangeSet", &e))?;
        let p = pages.get_or_insert_with(|| Pages {
            id: out.change_set_id().unwrap_or(id).to_owned(),
            stack_id: out.stack_id().unwrap_or_default().to_owned(),
            stack_name: out.stack_name().unwrap_or_default().to_owned(),
            status: out
                .status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            execution_status: out
                .execution_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            reason: out.status_reason().map(str::to_owned),
            changes: Vec::new(),
        });
        for c in out.changes() {
            let Some(rc) = c.resource_change() else {
                continue;
            };
            let details = rc
                .details()
                .iter()
                .map(|d| {
                    let t = d.target();
                    Detail {
                        attribute: t
                            .and_then(|t| t.attribute())
                            .map(|a| a.as_str().to_owned())
                            .unwrap_or_default(),
                        name: t.and_then(|t| t.name()).map(str::to_owned),
                        path: t.and_then(|t| t.path()).map(str::to_owned),
                        requires_recreation: t
                            .and_then(|t| t.requires_recreation())
                            .map(|r| r.as_str().to_owned()),
                        before: t.and_then(|t| t.before_value()).map(str::to_owned),
                        after: t.and_then(|t| t.after_value()).map(str::to_owned),
                        change_source: d.change_source().map(|s| s.as_str().to_owned()),
                        causing_entity: d.causing_entity().map(str::to_owned),
                    }
                })
                .collect();
            p.changes.push(PendingChange {
                change: ResourceChange {
                    action: Action::parse(rc.action().map(|a| a.as_str()).unwrap_or_default()),
                    logical_id: rc.logical_resource_id().unwrap_or_default().to_owned(),
                    physical_id: rc.physical_resource_id().map(str::to_owned),
                    resource_type: rc.resource_type().unwrap_or_default().to_owned(),
                    replacement: Replacement::parse(rc.replacement().map(|r| r.as_str())),
                    details,
                    nested: Vec::new(),
                },
                nested_change_set: rc
                    .change_set_id()
                    .filter(|_| rc.resource_type() == Some("AWS::CloudFormation::Stack"))
                    .map(str::to_owned),
            });
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    pages.ok_or_else(|| Error::failed(format!("CloudFormation DescribeChangeSet {id}: no answer")))
}

pub async fn delete_change_set(client: &Client, id: &str) -> Result<(), Error> {
    client
        .delete_change_set()
        .change_set_name(id)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_error("CloudFormation DeleteChangeSet", &e))
}

pub async fn execute_change_set(client: &Client, id: &str) -> Result<(), Error> {
    client
        .execute_change_set()
        .change_set_name(id)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_error("CloudFormation ExecuteChangeSet", &e))
}

/// The template a change set was created with (GetTemplate, stage Original).
pub async fn change_set_template(client: &Client, id: &str) -> Result<String, Error> {
    let out = client
        .get_template()
        .change_set_name(id)
        .template_stage(TemplateStage::Original)
        .send()
        .await
        .map_err(|e| aws_error("CloudFormation GetTemplate", &e))?;
    Ok(out.template_body().unwrap_or_default().to_owned())
}

/// The template a stack runs now (`None` when the stack does not exist).
pub async fn stack_template(client: &Client, name: &str) -> Result<Option<String>, Error> {
    match client
        .get_template()
        .stack_name(name)
        .template_stage(TemplateStage::Original)
        .send()
        .await
    {
        Ok(o) => Ok(o.template_body().map(str::to_owned)),
        Err(e) if e.as_service_error().is_some_and(is_missing_stack) => Ok(None),
        Err(e) => Err(aws_error("CloudFormation GetTemplate", &e)),
    }
}

/// Events of `stack` (name or id) at or after `since` (epoch seconds), newest first: pages are
/// read until one reaches back before `since`.
pub async fn stack_events(
    client: &Client,
    stack: &str,
    since: f64,
) -> Result<Vec<StackEvent>, Error> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .describe_stack_events()
            .stack_name(stack)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| aws_error("CloudFormation DescribeStackEvents", &e))?;
        let mut older = false;
        for e in page.stack_events() {
            let timestamp = e.timestamp().map(|t| t.as_secs_f64()).unwrap_or_default();
            if timestamp < since {
                older = true;
                continue;
            }
            out.push(StackEvent {
                id: e.event_id().unwrap_or_default().to_owned(),
                stack_id: e.stack_id().unwrap_or_default().to_owned(),
                stack_name: e.stack_name().unwrap_or_default().to_owned(),
                logical_id: e.logical_resource_id().unwrap_or_default().to_owned(),
                physical_id: e.physical_resource_id().map(str::to_owned),
                resource_type: e.resource_type().unwrap_or_default().to_owned(),
                status: e
                    .resource_status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                reason: e.resource_status_reason().map(str::to_owned),
                timestamp,
            });
        }
        match page.next_token() {
            Some(t) if !t.is_empty() && !older => token = Some(t.to_owned()),
            _ => break,
        }
    }
    Ok(out)
}

/// One resource of a stack as ListStackResources reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackResource {
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub resource_type: String,
}

/// Every resource of a stack (every page of ListStackResources).
pub async fn stack_resources(client: &Client, name: &str) -> Result<Vec<StackResource>, Error> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_stack_resources()
            .stack_name(name)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| aws_error("CloudFormation ListStackResources", &e))?;
        for r in page.stack_resource_summaries() {
            out.push(StackResource {
                logical_id: r.logical_resource_id().unwrap_or_default().to_owned(),
                physical_id: r
                    .physical_resource_id()
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned),
                resource_type: r.resource_type().unwrap_or_default().to_owned(),
            });
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    Ok(out)
}

pub async fn delete_stack(client: &Client, name: &str) -> Result<(), Error> {
    client
        .delete_stack()
        .stack_name(name)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_error("CloudFormation DeleteStack", &e))
}

pub async fn enable_termination_protection(client: &Client, name: &str) -> Result<(), Error> {
    client
        .update_termination_protection()
        .stack_name(name)
        .enable_termination_protection(true)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_error("CloudFormation UpdateTerminationProtection", &e))
}

/// The region in a CloudFormation ARN (`arn:aws:cloudformation:REGION:…`).
pub fn arn_region(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    (parts.next() == Some("arn")).then_some(())?;
    parts.nth(2).filter(|r| !r.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_of_an_arn() {
        assert_eq!(
            arn_region("arn:aws:cloudformation:eu-west-1:111111111111:changeSet/gantry-1/abc"),
            Some("eu-west-1")
        );
        assert_eq!(arn_region("gantry-1"), None);
        assert_eq!(arn_region("arn:aws:cloudformation::1:x"), None);
    }
}
