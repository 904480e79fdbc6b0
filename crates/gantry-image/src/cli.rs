//! The command line: flags, their `GANTRY_*` variables and help. Parsing only; what a value
//! means is decided in [`crate::config`].

use clap::{Parser, Subcommand};
use gantry_kit::aws::AwsArgs;
use gantry_kit::cli::{OutputArgs, parse_duration};
use std::time::Duration;

/// Push a container image from disk to ECR, or promote one between repositories by digest.
#[derive(Parser, Debug, Clone)]
#[command(name = "gantry-image", version)]
// `--json` before or after the subcommand.
#[command(mut_arg("json", |a| a.global(true)))]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Push an image a build left on disk (OCI layout, OCI archive, docker save archive).
    Push(PushArgs),
    /// Copy an image by digest to another repository or registry and tag it there.
    Promote(PromoteArgs),
}

/// Repository settings for `--create-repository`.
#[derive(clap::Args, Debug, Clone)]
pub struct RepositoryArgs {
    /// Create the repository when it does not exist (with the settings below and a lifecycle
    /// policy). An existing repository is left as it is, with a warning where it differs.
    #[arg(long, env = "GANTRY_CREATE_REPOSITORY")]
    pub create_repository: bool,

    /// Scan images on push (a created repository): `true` or `false`.
    #[arg(long, env = "GANTRY_SCAN_ON_PUSH", default_value = "true")]
    pub scan_on_push: String,

    /// Tag mutability of a created repository: `MUTABLE` or `IMMUTABLE`.
    #[arg(long, env = "GANTRY_TAG_MUTABILITY", default_value = "MUTABLE")]
    pub tag_mutability: String,

    /// Lifecycle policy of a created repository: keep the last N images (untagged ones expire
    /// after 7 days).
    #[arg(long, env = "GANTRY_LIFECYCLE_KEEP", default_value = "50")]
    pub lifecycle_keep: String,
}

/// The deadline of push and promote, and what passing it means.
#[derive(clap::Args, Debug, Clone)]
pub struct DeadlineArgs {
    /// Deadline for the whole run: past it, exit 1 when nothing was written yet, else 4.
    #[arg(long, env = "GANTRY_TIMEOUT", default_value = "30m", value_parser = parse_duration)]
    pub timeout: Duration,
}

#[derive(clap::Args, Debug, Clone)]
pub struct PushArgs {
    /// The image on disk: `oci:DIR[:TAG]`, `oci-archive:FILE` or `docker-archive:FILE`.
    #[arg(long, env = "GANTRY_SOURCE")]
    pub source: Option<String>,

    /// The repository to push to, e.g. `shop/api`.
    #[arg(long, env = "GANTRY_REPOSITORY")]
    pub repository: Option<String>,

    /// Tags to apply, e.g. `sha-abc1234 latest`. Repeatable; split on newlines, a single line
    /// on whitespace. Without tags the image is pushed by digest only.
    #[arg(long = "tags", alias = "tag", env = "GANTRY_TAGS", value_name = "TAGS")]
    pub tags: Vec<String>,

    /// The registry: `ACCOUNT.dkr.ecr.REGION.amazonaws.com` (default: the caller's account and
    /// region), or `http://127.0.0.1:PORT` for a local registry (plain HTTP only on loopback).
    #[arg(long, env = "GANTRY_REGISTRY")]
    pub registry: Option<String>,

    /// Repositories of the same registry to mount missing blobs from (e.g. the base image's).
    #[arg(long = "mount-from", env = "GANTRY_MOUNT_FROM", value_name = "REPOS")]
    pub mount_from: Vec<String>,

    /// Blobs uploaded at once: `auto` (start at 4, double while throughput grows, halve when
    /// the registry answers 429 or 503; at most 32) or a number from 1 to 64, which pins it.
    /// Blobs are verified `auto`'s 4 (or the pinned number) at a time.
    #[arg(long, env = "GANTRY_CONCURRENCY", default_value = "auto")]
    pub concurrency: String,

    #[command(flatten)]
    pub repo: RepositoryArgs,

    /// Print what would be uploaded and tagged; write nothing.
    #[arg(long, env = "GANTRY_DRY_RUN")]
    pub dry_run: bool,

    #[command(flatten)]
    pub deadline: DeadlineArgs,

    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(clap::Args, Debug, Clone)]
pub struct PromoteArgs {
    /// The image to promote: `REPO@sha256:…` or `REPO:TAG`.
    #[arg(long, env = "GANTRY_FROM")]
    pub from: Option<String>,

    /// Where to: `REPO[:TAG]`. With no tag here nor in `--tags`, a `--from` tag is reused.
    #[arg(long, env = "GANTRY_TO")]
    pub to: Option<String>,

    /// More tags to apply in the destination. Repeatable; split like every list.
    #[arg(long = "tags", alias = "tag", env = "GANTRY_TAGS", value_name = "TAGS")]
    pub tags: Vec<String>,

    /// The source registry (default: the caller's ECR registry).
    #[arg(long, env = "GANTRY_FROM_REGISTRY")]
    pub from_registry: Option<String>,

    /// The destination registry (default: the caller's ECR registry).
    #[arg(long, env = "GANTRY_TO_REGISTRY")]
    pub to_registry: Option<String>,

    /// Blobs copied at once: `auto` (start at 4, double while throughput grows, halve when
    /// either registry answers 429 or 503; at most 32) or a number from 1 to 64, which pins it.
    #[arg(long, env = "GANTRY_CONCURRENCY", default_value = "auto")]
    pub concurrency: String,

    #[command(flatten)]
    pub repo: RepositoryArgs,

    /// Print what would be copied and tagged; write nothing.
    #[arg(long, env = "GANTRY_DRY_RUN")]
    pub dry_run: bool,

    #[command(flatten)]
    pub deadline: DeadlineArgs,

    #[command(flatten)]
    pub aws: AwsArgs,
}
