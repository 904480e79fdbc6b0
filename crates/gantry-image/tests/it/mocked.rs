//! ECR answers moto does not give: a repository created by a concurrent run between our
//! DescribeRepositories and CreateRepository, IMMUTABLE_WITH_EXCLUSION, errors that name AWS's code.

use aws_sdk_ecr::Client;
use aws_sdk_ecr::operation::create_repository::{CreateRepositoryError, CreateRepositoryOutput};
use aws_sdk_ecr::operation::describe_repositories::{
    DescribeRepositoriesError, DescribeRepositoriesOutput,
};
use aws_sdk_ecr::operation::put_lifecycle_policy::PutLifecyclePolicyOutput;
use aws_sdk_ecr::types::error::{RepositoryAlreadyExistsException, RepositoryNotFoundException};
use aws_sdk_ecr::types::{ImageScanningConfiguration, ImageTagMutability, Repository};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use gantry_image::aws::ecr::{self, RepoSettings};

fn settings() -> RepoSettings {
    RepoSettings {
        scan_on_push: true,
        immutable: true,
        lifecycle_keep: 30,
        untagged_days: 7,
    }
}

#[tokio::test]
async fn a_repository_created_by_a_concurrent_run_counts_as_existing() {
    let create = mock!(Client::create_repository).then_error(|| {
        CreateRepositoryError::RepositoryAlreadyExistsException(
            RepositoryAlreadyExistsException::builder()
                .message("The repository with name 'shop/api' already exists in the registry with id '123456789012'")
                .build(),
        )
    });
    let policy = mock!(Client::put_lifecycle_policy)
        .then_output(|| PutLifecyclePolicyOutput::builder().build());
    let client = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&create, &policy]);
    let created = ecr::create(&client, None, "shop/api", &settings())
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(
        policy.num_calls(),
        0,
        "an existing repository is left as it is"
    );
}

#[tokio::test]
async fn a_created_repository_gets_its_settings_and_lifecycle_policy() {
    let create = mock!(Client::create_repository)
        .match_requests(|r| {
            r.repository_name() == Some("shop/api")
                && r.image_tag_mutability() == Some(&ImageTagMutability::Immutable)
                && r.image_scanning_configuration()
                    .is_some_and(|s| s.scan_on_push())
                && r.registry_id() == Some("123456789012")
        })
        .then_output(|| CreateRepositoryOutput::builder().build());
    let policy = mock!(Client::put_lifecycle_policy)
        .match_requests(|r| {
            let p: serde_json::Value =
                serde_json::from_str(r.lifecycle_policy_text().unwrap()).unwrap();
            p["rules"][1]["selection"]["countNumber"] == 30
                && p["rules"][0]["selection"]["countNumber"] == 7
        })
        .then_output(|| PutLifecyclePolicyOutput::builder().build());
    let client = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&create, &policy]);
    assert!(
        ecr::create(&client, Some("123456789012"), "shop/api", &settings())
            .await
            .unwrap()
    );
    assert_eq!((create.num_calls(), policy.num_calls()), (1, 1));
}

#[tokio::test]
async fn describe_maps_not_found_and_exclusion_mutability() {
    let missing = mock!(Client::describe_repositories).then_error(|| {
        DescribeRepositoriesError::RepositoryNotFoundException(
            RepositoryNotFoundException::builder()
                .message("not found")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&missing]);
    assert_eq!(
        ecr::describe(&client, None, "shop/api").await.unwrap(),
        None
    );

    let excl = mock!(Client::describe_repositories).then_output(|| {
        DescribeRepositoriesOutput::builder()
            .repositories(
                Repository::builder()
                    .repository_name("shop/api")
                    .image_tag_mutability(ImageTagMutability::ImmutableWithExclusion)
                    .image_scanning_configuration(
                        ImageScanningConfiguration::builder()
                            .scan_on_push(false)
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let client = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&excl]);
    let info = ecr::describe(&client, None, "shop/api")
        .await
        .unwrap()
        .unwrap();
    assert!(
        info.immutable(),
        "IMMUTABLE_WITH_EXCLUSION refuses to move tags"
    );
    assert!(!info.scan_on_push);
    assert_eq!(
        ecr::differences(&info, &settings()),
        vec!["scan-on-push is false (asked: true)"]
    );
}

#[tokio::test]
async fn access_denied_is_exit_1_naming_the_call() {
    let denied = mock!(Client::describe_repositories).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
            aws_smithy_types::body::SdkBody::from(
                r#"{"__type":"AccessDeniedException","message":"User is not authorized to perform: ecr:DescribeRepositories"}"#,
            ),
        )
    });
    let client = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&denied]);
    let e = ecr::describe(&client, None, "shop/api").await.unwrap_err();
    assert_eq!(e.exit_code().code(), 1);
    assert!(
        e.message()
            .contains("ECR DescribeRepositories: AccessDeniedException"),
        "{}",
        e.message()
    );
}
