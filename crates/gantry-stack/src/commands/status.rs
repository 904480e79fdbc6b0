//! `status`: each stack's status, drift status (as last detected), last update and outputs.

use crate::aws::Aws;
use crate::aws::cloudformation::{self as cfn, StackInfo};
use crate::config::StatusConfig;
use crate::report;
use gantry_kit::{Error, Report};

pub async fn run(aws: &Aws, cfg: &StatusConfig) -> Result<Report, Error> {
    let mut stacks: Vec<(String, Option<StackInfo>)> = Vec::new();
    for (name, region) in &cfg.stacks {
        let client = aws.cloudformation.client(region.as_deref());
        stacks.push((name.clone(), cfn::describe_stack(&client, name).await?));
    }
    Ok(report::status(&stacks))
}
