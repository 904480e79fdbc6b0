//! One orchestration per subcommand, and the [`Action`] that picks one.

mod deploy;
mod releases;
mod rollback;

pub use deploy::deploy;
pub use releases::releases;
pub use rollback::rollback;

use crate::aws::cloudfront;
use crate::cli::{Cli, Command};
use crate::config::{self, PublishConfig};
use aws_sdk_cloudfront::Client as CloudFront;
use gantry_kit::action::Action;
use gantry_kit::poll::SystemClock;
use gantry_kit::{Error, Report};

impl Action for Cli {
    fn title(&self) -> &'static str {
        match &self.command {
            Command::Deploy(_) => "Site deploy",
            Command::Rollback(_) => "Site rollback",
            Command::Releases(_) => "Site releases",
        }
    }

    fn json(&self) -> bool {
        self.command.site().output.json
    }

    /// Validates, then deploys, rolls back or lists.
    async fn run(self) -> Result<Report, Error> {
        let aws = &self.command.site().aws;
        match &self.command {
            Command::Deploy(a) => {
                let cfg = config::validate_deploy(a)?;
                let sdk = gantry_kit::aws::sdk_config(aws, Some("us-east-1")).await;
                let s3 = gantry_kit::aws::s3_client(&sdk);
                let cf = cfg.publish.cdn.as_ref().map(|_| CloudFront::new(&sdk));
                deploy(&s3, cf.as_ref(), &SystemClock::new(), &cfg).await
            }
            Command::Rollback(a) => {
                let cfg = config::validate_rollback(a)?;
                let sdk = gantry_kit::aws::sdk_config(aws, Some("us-east-1")).await;
                let s3 = gantry_kit::aws::s3_client(&sdk);
                let cf = cfg.publish.cdn.as_ref().map(|_| CloudFront::new(&sdk));
                rollback(&s3, cf.as_ref(), &SystemClock::new(), &cfg).await
            }
            Command::Releases(a) => {
                let site = config::validate_location(&a.site)?;
                let sdk = gantry_kit::aws::sdk_config(aws, Some("us-east-1")).await;
                releases(&gantry_kit::aws::s3_client(&sdk), &site).await
            }
        }
    }
}

/// The distribution's `https://<domain>/` (a read: dry runs report it too); `None` without a
/// distribution.
async fn site_url(cf: Option<&CloudFront>, cfg: &PublishConfig) -> Result<Option<String>, Error> {
    let (Some(cf), Some(cdn)) = (cf, &cfg.cdn) else {
        return Ok(None);
    };
    let domain = cloudfront::domain_name(cf, &cdn.distribution_id).await?;
    Ok(Some(format!("https://{domain}/")))
}
