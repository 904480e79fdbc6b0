//! STS: whose credentials these are (an environment file names its account).

use gantry_kit::Error;
use gantry_kit::aws::aws_error;

/// The account of the caller's credentials.
pub async fn caller_account(client: &aws_sdk_sts::Client) -> Result<String, Error> {
    let out = client
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| aws_error("STS GetCallerIdentity", &e))?;
    Ok(out.account().unwrap_or_default().to_owned())
}
