//! The SDK edge, one file per service; domain values in and out.

pub mod cloudformation;
pub mod s3;
pub mod sts;

/// The clients a command uses.
#[derive(Debug)]
pub struct Aws {
    pub cloudformation: cloudformation::Regional,
    /// `None` in tests: the account check of an environment file is skipped.
    pub sts: Option<aws_sdk_sts::Client>,
    /// Only for `template-bucket`.
    pub s3: Option<aws_sdk_s3::Client>,
}

impl Aws {
    pub fn from_sdk(sdk: &aws_types::SdkConfig) -> Self {
        Self {
            cloudformation: cloudformation::Regional::from_sdk(sdk),
            sts: Some(aws_sdk_sts::Client::new(sdk)),
            s3: Some(gantry_kit::aws::s3_client(sdk)),
        }
    }

    /// One CloudFormation client for every region, nothing else (tests).
    pub fn with_cloudformation(client: aws_sdk_cloudformation::Client) -> Self {
        Self {
            cloudformation: cloudformation::Regional::fixed(client),
            sts: None,
            s3: None,
        }
    }
}
