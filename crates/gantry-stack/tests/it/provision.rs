//! Provisioning, as far as an emulator allows: the real `infra/` templates for dev and prod,
//! deployed with the binary (`gantry-stack deploy --environment E`) into moto through its launcher
//! (scripts/moto-launcher.py supplies what moto lacks for these templates), then checked through
//! the EC2, ELBv2, ECS, S3, IAM and RDS APIs (the venv's AWS CLI). What moto silently skips is
//! listed in docs/actions/stack.md; nothing here is proof of those resources.

use super::moto::unique;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    // The directory cargo gives the test process, not the one compiled in (another checkout's
    // when a shared target dir kept its build: docs/development.md).
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// `aws ARGS… --output json` with the venv's CLI against the local moto, parsed.
fn aws(region: &str, args: &[&str]) -> Value {
    let venv = std::env::var_os("GANTRY_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv"));
    let out = Command::new(venv.join("bin/aws"))
        .args(["--region", region, "--output", "json"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "aws {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if out.stdout.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The committed environment file, with what moto needs: a project name of its own (stacks and
/// resource names stay apart), moto's account, and a hosted zone that exists there.
fn environment(dir: &Path, env: &str, project: &str) -> PathBuf {
    let zone = aws(
        "us-east-1",
        &[
            "route53",
            "create-hosted-zone",
            "--name",
            "example.com",
            "--caller-reference",
            project,
        ],
    );
    let zone = zone["HostedZone"]["Id"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let text =
        std::fs::read_to_string(repo().join(format!("infra/environments/{env}.json"))).unwrap();
    let mut file: Value = serde_json::from_str(&text.replace("Z0123456789EXAMPLE", &zone)).unwrap();
    file["Project"] = json!(project);
    file["AccountId"] = json!("123456789012");
    file["Tags"]["Project"] = json!(project);
    let path = dir.join(format!("{env}.json"));
    std::fs::write(&path, file.to_string()).unwrap();
    path
}

fn deploy(env_file: &Path, mode: &str) -> Value {
    let out = Command::new(assert_cmd::cargo::cargo_bin("gantry-stack"))
        .args([mode, "--environment", env_file.to_str().unwrap()])
        .arg("--templates-dir")
        .arg(repo().join("infra/templates"))
        .args(["--poll-interval", "1s", "--timeout", "5m", "--json"])
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_OUTPUT")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "gantry-stack {mode} exit {:?}:\n{stderr}",
        out.status.code()
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The /20 number `n` of a /16 (`10.30.0.0/16`, 4 → `10.30.64.0/20`), as `Fn::Cidr [cidr, 9, 12]` cuts it.
fn slash20(vpc: &str, n: u32) -> String {
    let base: Vec<&str> = vpc.split('.').collect();
    format!("{}.{}.{}.0/20", base[0], base[1], n * 16)
}

fn ids(list: &str) -> Vec<String> {
    list.split(',').map(str::to_owned).collect()
}

fn provisioned(
    env: &str,
    azs: usize,
    per_az_nat: bool,
    endpoints: &[&str],
    multi_az: bool,
    release: bool,
) {
    let dir = tempfile::tempdir().unwrap();
    let project = unique("p");
    let file = environment(dir.path(), env, &project);
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join(format!("infra/environments/{env}.json"))).unwrap(),
    )
    .unwrap();
    let vpc_cidr = committed["Stacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Layer"] == "network")
        .unwrap()["Parameters"]["VpcCidr"]
        .as_str()
        .unwrap()
        .to_owned();
    let region = committed["Region"].as_str().unwrap().to_owned();

    let out = deploy(&file, "deploy");
    let layers = [
        "edge",
        "foundation",
        "network",
        "data",
        "service",
        "frontend",
        "observability",
        "access",
    ];
    for l in layers {
        assert_eq!(
            out["status"][format!("{project}-{env}-{l}")],
            json!("CREATE_COMPLETE"),
            "{l}: {}",
            out["status"]
        );
    }
    let o = &out["stack-outputs"];
    let vpc = o["VpcId"].as_str().unwrap();

    // Subnets: the CIDRs and AZs the parameters imply; no public IPs anywhere (app and data included).
    let subnets = aws(
        &region,
        &[
            "ec2",
            "describe-subnets",
            "--filters",
            &format!("Name=vpc-id,Values={vpc}"),
        ],
    );
    let subnets = subnets["Subnets"].as_array().unwrap().clone();
    assert_eq!(subnets.len(), 3 * azs, "{env}: three tiers per AZ");
    let zones: Vec<String> = ["a", "b", "c"]
        .iter()
        .take(azs)
        .map(|z| format!("{region}{z}"))
        .collect();
    for (tier, first, list) in [
        ("public", 0, "PublicSubnetIds"),
        ("app", 3, "AppSubnetIds"),
        ("data", 6, "DataSubnetIds"),
    ] {
        let want = ids(o[list].as_str().unwrap());
        assert_eq!(want.len(), azs, "{env} {tier}");
        for (i, id) in want.iter().enumerate() {
            let s = subnets
                .iter()
                .find(|s| s["SubnetId"] == json!(id))
                .unwrap_or_else(|| panic!("{env}: {tier} subnet {id} missing"));
            assert_eq!(
                s["CidrBlock"],
                json!(slash20(&vpc_cidr, first + i as u32)),
                "{env} {tier} {i}"
            );
            assert_eq!(s["AvailabilityZone"], json!(zones[i]), "{env} {tier} {i}");
            assert_eq!(
                s["MapPublicIpOnLaunch"],
                json!(false),
                "{env} {tier} {i}: no public IPs"
            );
        }
    }

    // Routing: each app route table has one default route, to a NAT (one per AZ where per-az);
    // the data route table has no route out of the VPC.
    let tables = aws(
        &region,
        &[
            "ec2",
            "describe-route-tables",
            "--filters",
            &format!("Name=vpc-id,Values={vpc}"),
        ],
    );
    let tables = tables["RouteTables"].as_array().unwrap().clone();
    let table_of = |subnet: &str| {
        tables
            .iter()
            .find(|t| {
                t["Associations"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x["SubnetId"] == json!(subnet)))
            })
            .unwrap_or_else(|| panic!("{env}: no route table for {subnet}"))
            .clone()
    };
    let mut nats = BTreeSet::new();
    let mut app_tables = BTreeSet::new();
    for subnet in ids(o["AppSubnetIds"].as_str().unwrap()) {
        let t = table_of(&subnet);
        app_tables.insert(t["RouteTableId"].as_str().unwrap().to_owned());
        let defaults: Vec<&Value> = t["Routes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["DestinationCidrBlock"] == json!("0.0.0.0/0"))
            .collect();
        assert_eq!(
            defaults.len(),
            1,
            "{env}: one default route in the app table of {subnet}"
        );
        nats.insert(
            defaults[0]["NatGatewayId"]
                .as_str()
                .unwrap_or_else(|| panic!("{env}: app default route is not to a NAT"))
                .to_owned(),
        );
    }
    assert_eq!(app_tables.len(), azs, "{env}: one app route table per AZ");
    assert_eq!(
        nats.len(),
        if per_az_nat { azs } else { 1 },
        "{env}: NAT gateways behind the app tables"
    );
    assert_eq!(o["NatGatewayCount"], json!(nats.len().to_string()));
    let data_tables: BTreeSet<String> = ids(o["DataSubnetIds"].as_str().unwrap())
        .iter()
        .map(|s| table_of(s)["RouteTableId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(data_tables.len(), 1, "{env}: one data route table");
    let data_table = table_of(&ids(o["DataSubnetIds"].as_str().unwrap())[0]);
    for r in data_table["Routes"].as_array().unwrap() {
        assert_eq!(
            r["GatewayId"],
            json!("local"),
            "{env}: the data tier has no route out: {r}"
        );
    }
    for s in ids(o["PublicSubnetIds"].as_str().unwrap()) {
        let t = table_of(&s);
        assert!(
            t["Routes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["DestinationCidrBlock"] == json!("0.0.0.0/0")
                    && r["GatewayId"]
                        .as_str()
                        .is_some_and(|g| g.starts_with("igw-"))),
            "{env}: public default route to the internet gateway"
        );
    }

    // VPC endpoints: the S3 gateway on the app tables always; interface endpoints where enabled.
    let eps = aws(
        &region,
        &[
            "ec2",
            "describe-vpc-endpoints",
            "--filters",
            &format!("Name=vpc-id,Values={vpc}"),
        ],
    );
    let mut services: Vec<String> = eps["VpcEndpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["ServiceName"].as_str().unwrap(),
                e["VpcEndpointType"].as_str().unwrap()
            )
        })
        .collect();
    services.sort();
    let mut want: Vec<String> = endpoints
        .iter()
        .map(|e| format!("com.amazonaws.{region}.{e}"))
        .collect();
    want.sort();
    assert_eq!(services, want, "{env}: VPC endpoints");
    let s3_gateway = eps["VpcEndpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["VpcEndpointType"] == json!("Gateway"))
        .unwrap();
    let gw_tables: BTreeSet<String> = s3_gateway["RouteTableIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        gw_tables, app_tables,
        "{env}: the S3 gateway serves the app route tables"
    );

    // Load balancer: HTTPS forwarding to an IP target group on the container port, HTTP redirecting.
    let lb = aws(
        &region,
        &[
            "elbv2",
            "describe-load-balancers",
            "--names",
            &format!("{project}-{env}"),
        ],
    );
    let lb = &lb["LoadBalancers"][0];
    assert_eq!(lb["Scheme"], json!("internet-facing"));
    let listeners = aws(
        &region,
        &[
            "elbv2",
            "describe-listeners",
            "--load-balancer-arn",
            lb["LoadBalancerArn"].as_str().unwrap(),
        ],
    );
    let mut l: Vec<(i64, String, String)> = listeners["Listeners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["Port"].as_i64().unwrap(),
                x["Protocol"].as_str().unwrap().to_owned(),
                x["DefaultActions"][0]["Type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    l.sort();
    // The committed environment files name no domain, so there is no certificate and no HTTPS
    // listener: the one HTTP listener refuses by default (403) and forwards only requests that
    // carry CloudFront's secret origin header (infra/templates/service.yaml, OriginVerifiedRule).
    assert_eq!(
        l,
        [(80, "HTTP".into(), "fixed-response".into())],
        "{env}: listeners"
    );
    let listener_arn = listeners["Listeners"][0]["ListenerArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let rules = aws(
        &region,
        &["elbv2", "describe-rules", "--listener-arn", &listener_arn],
    );
    let verified: Vec<&serde_json::Value> = rules["Rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["IsDefault"] != serde_json::Value::Bool(true))
        .collect();
    assert_eq!(
        verified.len(),
        1,
        "{env}: one origin-verified rule: {rules}"
    );
    assert_eq!(
        verified[0]["Actions"][0]["Type"], "forward",
        "{env}: {rules}"
    );
    assert!(
        verified[0]["Conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["Field"] == "http-header"),
        "{env}: the rule checks the origin header: {rules}"
    );
    let tgs = aws(
        &region,
        &[
            "elbv2",
            "describe-target-groups",
            "--load-balancer-arn",
            lb["LoadBalancerArn"].as_str().unwrap(),
        ],
    );
    let tg = &tgs["TargetGroups"][0];
    assert_eq!(
        (tg["Port"].as_i64(), tg["TargetType"].as_str()),
        (Some(8080), Some("ip")),
        "{env}: target group"
    );
    assert!(
        o["TargetGroupFullName"]
            .as_str()
            .unwrap()
            .starts_with("targetgroup/"),
        "{env}"
    );

    // ECS: the cluster and the service on the baseline task definition.
    let svc = aws(
        &region,
        &[
            "ecs",
            "describe-services",
            "--cluster",
            o["ClusterName"].as_str().unwrap(),
            "--services",
            o["ServiceName"].as_str().unwrap(),
        ],
    );
    assert_eq!(
        svc["services"][0]["taskDefinition"], o["BaselineTaskDefinitionArn"],
        "{env}: service on the baseline revision"
    );

    // S3: the log and site buckets encrypted, with every public access block on.
    for bucket in [
        o["LogBucketName"].as_str().unwrap(),
        o["SiteBucketName"].as_str().unwrap(),
    ] {
        let enc = aws(
            &region,
            &["s3api", "get-bucket-encryption", "--bucket", bucket],
        );
        assert_eq!(
            enc["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]
                ["SSEAlgorithm"],
            json!("AES256"),
            "{env} {bucket}"
        );
        let pab = aws(
            &region,
            &["s3api", "get-public-access-block", "--bucket", bucket],
        );
        assert_eq!(
            pab["PublicAccessBlockConfiguration"],
            json!({"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true}),
            "{env} {bucket}"
        );
    }

    // IAM: the deploy role trusts GitHub's OIDC tokens for this environment only.
    let role = o["DeployRoleArn"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let role = aws(&region, &["iam", "get-role", "--role-name", &role]);
    let trust = role["Role"]["AssumeRolePolicyDocument"]["Statement"][0].clone();
    assert_eq!(trust["Action"], json!("sts:AssumeRoleWithWebIdentity"));
    assert_eq!(
        trust["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"],
        json!(format!("repo:example-org/example-app:environment:{env}"))
    );

    // RDS: in the data subnets, private, encrypted, Multi-AZ as the environment says.
    let db = aws(
        &region,
        &[
            "rds",
            "describe-db-instances",
            "--db-instance-identifier",
            o["DbInstanceIdentifier"].as_str().unwrap(),
        ],
    );
    let db = &db["DBInstances"][0];
    assert_eq!(
        (
            db["MultiAZ"].as_bool(),
            db["StorageEncrypted"].as_bool(),
            db["PubliclyAccessible"].as_bool()
        ),
        (Some(multi_az), Some(true), Some(false)),
        "{env}: database"
    );
    let db_subnets: BTreeSet<String> = db["DBSubnetGroup"]["Subnets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["SubnetIdentifier"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        db_subnets,
        ids(o["DataSubnetIds"].as_str().unwrap())
            .into_iter()
            .collect(),
        "{env}: database in the data subnets"
    );

    // A second plan of the same environment has nothing to do: the service still runs the
    // stack's own bootstrap definition, so TaskDefinitionArn stays empty.
    let again = deploy(&file, "plan");
    assert_eq!(
        again["has-changes"],
        json!(false),
        "{env}: {}",
        again["status"]
    );
    assert!(
        again["summary"]
            .as_str()
            .unwrap()
            .contains("`TaskDefinitionArn` left empty: the service runs the stack's own bootstrap task definition"),
        "{env}: {}",
        again["summary"]
    );
    if release {
        a_release_survives_a_stack_update(&file, &region, o);
    }
}

/// A gantry release registers a revision and points the service at it; a later stack update
/// (here a changed service parameter) keeps the service on that revision, because the plan passes
/// the running one as TaskDefinitionArn.
fn a_release_survives_a_stack_update(file: &Path, region: &str, o: &Value) {
    let (cluster, service) = (
        o["ClusterName"].as_str().unwrap(),
        o["ServiceName"].as_str().unwrap(),
    );
    let registered = aws(
        region,
        &[
            "ecs",
            "register-task-definition",
            "--family",
            o["TaskFamily"].as_str().unwrap(),
            "--requires-compatibilities",
            "FARGATE",
            "--network-mode",
            "awsvpc",
            "--cpu",
            "256",
            "--memory",
            "512",
            "--container-definitions",
            r#"[{"name": "app", "image": "registry.example/app@sha256:0000000000000000000000000000000000000000000000000000000000000001", "essential": true, "portMappings": [{"name": "http", "containerPort": 8080}]}]"#,
        ],
    );
    let release = registered["taskDefinition"]["taskDefinitionArn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(release, o["BaselineTaskDefinitionArn"].as_str().unwrap());
    aws(
        region,
        &[
            "ecs",
            "update-service",
            "--cluster",
            cluster,
            "--service",
            service,
            "--task-definition",
            &release,
        ],
    );

    // A parameter change of the service stack, deployed as the environment file says.
    let mut env: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let layer = env["Stacks"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s["Layer"] == "service")
        .unwrap();
    layer["Parameters"]["HealthCheckGraceSeconds"] = json!("90");
    std::fs::write(file, env.to_string()).unwrap();
    let out = deploy(file, "deploy");
    let stack = format!("{}-service", cluster);
    assert_eq!(
        out["status"][&stack],
        json!("UPDATE_COMPLETE"),
        "{}",
        out["status"]
    );
    let summary = out["summary"].as_str().unwrap();
    assert!(
        summary.contains(&format!(
            "`TaskDefinitionArn` = `{release}`: the task definition ECS service `{cluster}/{service}` runs now"
        )),
        "{summary}"
    );
    let svc = aws(
        region,
        &[
            "ecs",
            "describe-services",
            "--cluster",
            cluster,
            "--services",
            service,
        ],
    );
    assert_eq!(
        svc["services"][0]["taskDefinition"],
        json!(release),
        "the service still runs the release"
    );
    let stack_params = aws(
        region,
        &["cloudformation", "describe-stacks", "--stack-name", &stack],
    );
    let params: Vec<(String, String)> = stack_params["Stacks"][0]["Parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["ParameterKey"].as_str().unwrap().to_owned(),
                p["ParameterValue"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(
        params.contains(&("HealthCheckGraceSeconds".into(), "90".into())),
        "the parameter change was applied: {params:?}"
    );
    assert!(
        params.contains(&("TaskDefinitionArn".into(), release.clone())),
        "{params:?}"
    );
    assert_eq!(
        out["stack-outputs"]["ServiceTaskDefinitionArn"],
        json!(release)
    );
    assert!(
        out["stack-outputs"]
            .get("BaselineTaskDefinitionArn")
            .is_none(),
        "the bootstrap definition left the template: {}",
        out["stack-outputs"]
    );

    // And the next plan has nothing to do.
    let again = deploy(file, "plan");
    assert_eq!(again["has-changes"], json!(false), "{}", again["status"]);
}

#[test]
fn dev_deploys_into_moto_as_its_environment_file_says() {
    provisioned("dev", 2, false, &["s3 Gateway"], false, true);
}

#[test]
fn prod_deploys_into_moto_as_its_environment_file_says() {
    provisioned(
        "prod",
        3,
        true,
        &[
            "s3 Gateway",
            "ecr.api Interface",
            "ecr.dkr Interface",
            "logs Interface",
            "secretsmanager Interface",
        ],
        true,
        false,
    );
}
