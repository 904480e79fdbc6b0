//! S3: templates larger than CloudFormation accepts in a request go through `template-bucket`.

use gantry_kit::Error;
use gantry_kit::aws::aws_error;

/// Uploads a template under a key named by its digest and returns the URL CloudFormation reads
/// it from (`TemplateURL`). The bucket is expected in the stack's `region`.
pub async fn upload_template(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    region: &str,
    stack: &str,
    digest: &str,
    body: &str,
) -> Result<String, Error> {
    let key = format!(
        "gantry-stack/{stack}/{}.template",
        digest.trim_start_matches("sha256:")
    );
    client
        .put_object()
        .bucket(bucket)
        .key(&key)
        .body(body.as_bytes().to_vec().into())
        .content_type("text/plain")
        .send()
        .await
        .map_err(|e| aws_error("S3 PutObject", &e))?;
    Ok(format!("https://{bucket}.s3.{region}.amazonaws.com/{key}"))
}
