//! The SDK edge, one file per service; domain values in and out.

pub mod cloudformation;
pub mod ecs;
pub mod s3;
pub mod sts;

use std::collections::HashMap;
use std::sync::Mutex;

/// The clients a command uses.
#[derive(Debug)]
pub struct Aws {
    pub cloudformation: cloudformation::Regional,
    /// Reads the task definition a stack's ECS service runs (`running`). `None` in tests that
    /// give only a CloudFormation client: nothing is read, the parameter is not passed.
    pub ecs: Option<ecs::Regional>,
    /// `None` in tests: the account check of an environment file is skipped.
    pub sts: Option<aws_sdk_sts::Client>,
    /// Only for `template-bucket`.
    pub s3: Option<aws_sdk_s3::Client>,
}

impl Aws {
    pub fn from_sdk(sdk: &aws_types::SdkConfig) -> Self {
        Self {
            cloudformation: Regional::from_sdk(sdk, cloudformation::build),
            ecs: Some(Regional::from_sdk(sdk, ecs::build)),
            sts: Some(aws_sdk_sts::Client::new(sdk)),
            s3: Some(gantry_kit::aws::s3_client(sdk)),
        }
    }

    /// One CloudFormation client for every region, nothing else (tests).
    pub fn with_cloudformation(client: aws_sdk_cloudformation::Client) -> Self {
        Self {
            cloudformation: Regional::fixed(client),
            ecs: None,
            sts: None,
            s3: None,
        }
    }

    /// One CloudFormation and one ECS client for every region (tests).
    pub fn with_cloudformation_and_ecs(
        cloudformation: aws_sdk_cloudformation::Client,
        ecs: aws_sdk_ecs::Client,
    ) -> Self {
        Self {
            ecs: Some(Regional::fixed(ecs)),
            ..Self::with_cloudformation(cloudformation)
        }
    }
}

/// A service's clients per region (an environment's stacks may live in several), made on first
/// use from the one `SdkConfig`.
#[derive(Debug)]
pub struct Regional<C> {
    base: Base<C>,
    cache: Mutex<HashMap<String, C>>,
}

#[derive(Debug)]
enum Base<C> {
    Sdk {
        sdk: Box<aws_types::SdkConfig>,
        build: fn(&aws_types::SdkConfig, Option<&str>) -> C,
    },
    /// One client for every region (tests).
    Fixed(C),
}

impl<C: Clone> Regional<C> {
    pub fn from_sdk(
        sdk: &aws_types::SdkConfig,
        build: fn(&aws_types::SdkConfig, Option<&str>) -> C,
    ) -> Self {
        Self {
            base: Base::Sdk {
                sdk: Box::new(sdk.clone()),
                build,
            },
            cache: Mutex::default(),
        }
    }

    pub fn fixed(client: C) -> Self {
        Self {
            base: Base::Fixed(client),
            cache: Mutex::default(),
        }
    }

    /// The client for `region` (`None`: the configured one).
    pub fn client(&self, region: Option<&str>) -> C {
        match &self.base {
            Base::Fixed(c) => c.clone(),
            Base::Sdk { sdk, build } => {
                let key = region.unwrap_or_default().to_owned();
                let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
                cache
                    .entry(key)
                    .or_insert_with(|| build(sdk, region))
                    .clone()
            }
        }
    }
}
