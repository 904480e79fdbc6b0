//! Infrastructure: resolve each environment's parameters (infra/environments/ENV.json) against the
//! CloudFormation templates (infra/templates/*.yaml) and assert what each environment must be —
//! prod: Multi-AZ, deletion protection, 3 AZs, a NAT gateway per AZ; dev: one NAT; and so on.
//! Needs neither AWS nor the emulator.
//!
//! The templates are read with serde_yaml_ng. CloudFormation's short-form tags (`!Ref`, `!If`, …)
//! arrive as tagged values and are first rewritten to the long form (`{"Fn::If": …}`); a small
//! evaluator then handles the `Conditions` section (Fn::Equals/And/Or/Not, Condition, Ref to a
//! parameter whose default the environment file overrides) and Fn::If / Ref / AWS::NoValue inside the
//! properties the checks read. Parameters fed by an earlier stack's outputs are unknown here; a
//! condition that depends on one is an error, not a guess.
//!
//! Every check is a function that returns its violations, and `tampered_*` tests feed it a broken
//! environment or template to prove each assertion can fail.

use serde_yaml_ng::{Mapping, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

// ------------------------------------------------------------------------------------------------
// Loading

fn infra_dir() -> PathBuf {
    gantry_tests::repo_root().join("infra")
}

/// One environment file.
#[derive(Debug, Clone)]
struct Environment {
    name: String,
    project: String,
    region: String,
    account: String,
    tags: BTreeMap<String, String>,
    stacks: Vec<StackSpec>,
}

#[derive(Debug, Clone)]
struct StackSpec {
    layer: String,
    region: Option<String>,
    parameters: BTreeMap<String, String>,
}

fn load_environment(name: &str) -> Environment {
    let path = infra_dir()
        .join("environments")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let json: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let string = |key: &str| json[key].as_str().unwrap_or_default().to_owned();
    let tags = json["Tags"]
        .as_object()
        .map(|tags| {
            tags.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let stacks = json["Stacks"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: Stacks must be an array", path.display()))
        .iter()
        .map(|stack| StackSpec {
            layer: stack["Layer"].as_str().unwrap_or_default().to_owned(),
            region: stack["Region"].as_str().map(str::to_owned),
            parameters: stack["Parameters"]
                .as_object()
                .map(|params| {
                    params
                        .iter()
                        .map(|(k, v)| {
                            let value = v.as_str().unwrap_or_else(|| {
                                panic!("{}: parameter {k} must be a string", path.display())
                            });
                            (k.clone(), value.to_owned())
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    Environment {
        name: string("Environment"),
        project: string("Project"),
        region: string("Region"),
        account: string("AccountId"),
        tags,
        stacks,
    }
}

fn template_text(layer: &str) -> String {
    let path = infra_dir().join("templates").join(format!("{layer}.yaml"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse_template(text: &str) -> Value {
    let raw: Value = serde_yaml_ng::from_str(text).expect("template is valid YAML");
    long_form(raw)
}

/// Rewrite short-form tags into CloudFormation's long form: `!Ref X` → `{Ref: X}`,
/// `!Condition X` → `{Condition: X}`, `!If [...]` → `{"Fn::If": [...]}`, and so on.
fn long_form(value: Value) -> Value {
    match value {
        Value::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let tag = tag.trim_start_matches('!');
            let key = match tag {
                "Ref" | "Condition" => tag.to_owned(),
                other => format!("Fn::{other}"),
            };
            let mut mapping = Mapping::new();
            mapping.insert(Value::String(key), long_form(tagged.value));
            Value::Mapping(mapping)
        }
        Value::Sequence(items) => Value::Sequence(items.into_iter().map(long_form).collect()),
        Value::Mapping(mapping) => Value::Mapping(
            mapping
                .into_iter()
                .map(|(k, v)| (k, long_form(v)))
                .collect(),
        ),
        scalar => scalar,
    }
}

// ------------------------------------------------------------------------------------------------
// Evaluation

/// A template with this environment's parameter values.
struct Stack {
    layer: String,
    template: Value,
    /// `None`: the value comes from an earlier stack's outputs at deploy time.
    parameters: BTreeMap<String, Option<String>>,
    region: String,
    account: String,
}

fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn single_key(value: &Value) -> Option<(&str, &Value)> {
    let mapping = value.as_mapping()?;
    if mapping.len() != 1 {
        return None;
    }
    let (key, inner) = mapping.iter().next()?;
    Some((key.as_str()?, inner))
}

impl Stack {
    fn new(env: &Environment, spec: &StackSpec, template: Value) -> Stack {
        let mut parameters = BTreeMap::new();
        if let Some(declared) = template.get("Parameters").and_then(Value::as_mapping) {
            for (name, declaration) in declared {
                let name = name
                    .as_str()
                    .expect("parameter names are strings")
                    .to_owned();
                let default = declaration.get("Default").and_then(scalar_string);
                parameters.insert(name, default);
            }
        }
        for (name, value) in &spec.parameters {
            parameters.insert(name.clone(), Some(value.clone()));
        }
        parameters.insert("ProjectName".into(), Some(env.project.clone()));
        parameters.insert("EnvironmentName".into(), Some(env.name.clone()));
        Stack {
            layer: spec.layer.clone(),
            template,
            parameters,
            region: spec.region.clone().unwrap_or_else(|| env.region.clone()),
            account: env.account.clone(),
        }
    }

    fn resources(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.template
            .get("Resources")
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.as_str()?, v)))
    }

    fn resource(&self, logical_id: &str) -> Result<&Value, String> {
        self.template
            .get("Resources")
            .and_then(|r| r.get(logical_id))
            .ok_or_else(|| format!("{}: no resource {logical_id}", self.layer))
    }

    fn condition(&self, name: &str) -> Result<bool, String> {
        let expression = self
            .template
            .get("Conditions")
            .and_then(|c| c.get(name))
            .ok_or_else(|| format!("{}: no condition {name}", self.layer))?;
        self.boolean(expression)
    }

    fn boolean(&self, expression: &Value) -> Result<bool, String> {
        if let Value::Bool(b) = expression {
            return Ok(*b);
        }
        let (function, args) = single_key(expression)
            .ok_or_else(|| format!("{}: not a condition: {expression:?}", self.layer))?;
        let list = || {
            args.as_sequence()
                .ok_or_else(|| format!("{}: {function} needs a list", self.layer))
        };
        match function {
            "Condition" => self.condition(args.as_str().unwrap_or_default()),
            "Fn::Equals" => {
                let items = list()?;
                if items.len() != 2 {
                    return Err(format!("{}: Fn::Equals needs two values", self.layer));
                }
                let a = self.scalar(&items[0])?;
                let b = self.scalar(&items[1])?;
                Ok(a == b)
            }
            "Fn::And" => list()?
                .iter()
                .try_fold(true, |acc, c| Ok(acc && self.boolean(c)?)),
            "Fn::Or" => list()?
                .iter()
                .try_fold(false, |acc, c| Ok(acc || self.boolean(c)?)),
            "Fn::Not" => {
                let items = list()?;
                Ok(!self.boolean(items.first().ok_or("Fn::Not needs one condition")?)?)
            }
            other => Err(format!(
                "{}: unsupported condition function {other}",
                self.layer
            )),
        }
    }

    /// Resolve to a plain string (for Fn::Equals and the checks).
    fn scalar(&self, value: &Value) -> Result<String, String> {
        match self.resolve(value)? {
            Some(resolved) => scalar_string(&resolved).ok_or_else(|| match ref_target(&resolved) {
                Some(name) if self.parameters.get(&name) == Some(&None) => format!(
                    "{}: parameter {name} comes from an earlier stack's outputs; cannot evaluate here",
                    self.layer
                ),
                _ => format!("{}: {value:?} does not resolve to a scalar", self.layer),
            }),
            None => Err(format!("{}: {value:?} resolves to AWS::NoValue", self.layer)),
        }
    }

    fn reference(&self, name: &str) -> Result<Option<Value>, String> {
        let pseudo = match name {
            "AWS::NoValue" => return Ok(None),
            "AWS::Region" => Some(self.region.clone()),
            "AWS::AccountId" => Some(self.account.clone()),
            "AWS::Partition" => Some("aws".to_owned()),
            _ => None,
        };
        if let Some(value) = pseudo {
            return Ok(Some(Value::String(value)));
        }
        match self.parameters.get(name) {
            Some(Some(value)) => Ok(Some(Value::String(value.clone()))),
            // A resource, or a parameter wired from an earlier stack's outputs: keep the reference
            // itself (checks can compare which resource it names; `scalar` refuses it).
            Some(None) | None => {
                let mut mapping = Mapping::new();
                mapping.insert("Ref".into(), Value::String(name.to_owned()));
                Ok(Some(Value::Mapping(mapping)))
            }
        }
    }

    /// Resolve Ref, Fn::If, the condition functions and AWS::NoValue (`None`), recursively. Other
    /// intrinsic functions are kept as they are.
    fn resolve(&self, value: &Value) -> Result<Option<Value>, String> {
        if let Some((function, args)) = single_key(value) {
            match function {
                "Ref" => return self.reference(args.as_str().unwrap_or_default()),
                "Fn::If" => {
                    let items = args
                        .as_sequence()
                        .filter(|items| items.len() == 3)
                        .ok_or_else(|| format!("{}: Fn::If needs three items", self.layer))?;
                    let name = items[0].as_str().unwrap_or_default();
                    let branch = if self.condition(name)? {
                        &items[1]
                    } else {
                        &items[2]
                    };
                    return self.resolve(branch);
                }
                "Fn::Equals" | "Fn::And" | "Fn::Or" | "Fn::Not" | "Condition" => {
                    return self.boolean(value).map(|b| Some(Value::Bool(b)));
                }
                _ => {}
            }
        }
        Ok(Some(match value {
            Value::Sequence(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    if let Some(resolved) = self.resolve(item)? {
                        out.push(resolved);
                    }
                }
                Value::Sequence(out)
            }
            Value::Mapping(mapping) => {
                let mut out = Mapping::new();
                for (k, v) in mapping {
                    if let Some(resolved) = self.resolve(v)? {
                        out.insert(k.clone(), resolved);
                    }
                }
                Value::Mapping(out)
            }
            other => other.clone(),
        }))
    }

    /// Whether a resource is created in this environment (its `Condition`, if any).
    fn active(&self, logical_id: &str) -> Result<bool, String> {
        match self
            .resource(logical_id)?
            .get("Condition")
            .and_then(Value::as_str)
        {
            Some(condition) => self.condition(condition),
            None => Ok(true),
        }
    }

    fn active_of_type(&self, resource_type: &str) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        for (id, resource) in self.resources() {
            if resource.get("Type").and_then(Value::as_str) == Some(resource_type)
                && self.active(id)?
            {
                out.push(id.to_owned());
            }
        }
        Ok(out)
    }

    /// A property of a resource, resolved (`None` when absent or AWS::NoValue).
    fn property(&self, logical_id: &str, path: &[&str]) -> Result<Option<Value>, String> {
        let mut current = self.resource(logical_id)?.get("Properties");
        for key in path {
            current = current.and_then(|v| v.get(*key));
        }
        match current {
            Some(value) => self.resolve(value),
            None => Ok(None),
        }
    }

    fn property_bool(&self, logical_id: &str, path: &[&str]) -> Result<Option<bool>, String> {
        Ok(match self.property(logical_id, path)? {
            Some(Value::Bool(b)) => Some(b),
            Some(Value::String(s)) if s == "true" => Some(true),
            Some(Value::String(s)) if s == "false" => Some(false),
            _ => None,
        })
    }
}

/// All stacks of one environment, in deploy order.
struct Resolved {
    env: Environment,
    stacks: Vec<Stack>,
}

impl Resolved {
    fn load(name: &str) -> Resolved {
        Resolved::with(load_environment(name), |_, text| text)
    }

    /// Load with a hook that may rewrite a template's text first (for tampering tests).
    fn with(env: Environment, edit: impl Fn(&str, String) -> String) -> Resolved {
        let stacks = env
            .stacks
            .iter()
            .map(|spec| {
                let text = edit(&spec.layer, template_text(&spec.layer));
                Stack::new(&env, spec, parse_template(&text))
            })
            .collect();
        Resolved { env, stacks }
    }

    fn stack(&self, layer: &str) -> Result<&Stack, String> {
        self.stacks
            .iter()
            .find(|s| s.layer == layer)
            .ok_or_else(|| format!("{}: no {layer} stack", self.env.name))
    }
}

// ------------------------------------------------------------------------------------------------
// Facts about one environment

#[derive(Debug)]
struct Facts {
    /// Distinct AZ indexes (`!Select [i, !GetAZs '']`) of the subnets that are created.
    azs: BTreeSet<i64>,
    subnets: usize,
    nat_gateways: Vec<String>,
    /// NAT gateway each private-app default route points to.
    app_route_nats: Vec<String>,
    interface_endpoints: usize,
    db_multi_az: Option<bool>,
    db_deletion_protection: Option<bool>,
    db_deletion_policy: Option<String>,
    alb_deletion_protection: Option<bool>,
    min_tasks: i64,
    max_tasks: i64,
    uses_fargate_spot: bool,
}

fn az_index(value: &Value) -> Option<i64> {
    let (function, args) = single_key(value)?;
    if function != "Fn::Select" {
        return None;
    }
    args.as_sequence()?
        .first()?
        .as_i64()
        .or_else(|| args.as_sequence()?.first()?.as_str()?.parse().ok())
}

fn ref_target(value: &Value) -> Option<String> {
    let (function, name) = single_key(value)?;
    (function == "Ref").then(|| name.as_str().map(str::to_owned))?
}

fn facts(resolved: &Resolved) -> Result<Facts, String> {
    let network = resolved.stack("network")?;
    let data = resolved.stack("data")?;
    let service = resolved.stack("service")?;

    let subnets = network.active_of_type("AWS::EC2::Subnet")?;
    let mut azs = BTreeSet::new();
    for subnet in &subnets {
        let az = network
            .property(subnet, &["AvailabilityZone"])?
            .ok_or_else(|| format!("subnet {subnet} has no AvailabilityZone"))?;
        azs.insert(
            az_index(&az).ok_or_else(|| format!("subnet {subnet}: AZ not !Select [i, !GetAZs]"))?,
        );
    }

    let mut app_route_nats = Vec::new();
    for route in network.active_of_type("AWS::EC2::Route")? {
        let Some(nat) = network.property(&route, &["NatGatewayId"])? else {
            continue;
        };
        let target =
            ref_target(&nat).ok_or_else(|| format!("route {route}: NatGatewayId is not a Ref"))?;
        if !network.active(&target)? {
            return Err(format!(
                "route {route} points to {target}, which is not created"
            ));
        }
        app_route_nats.push(target);
    }

    let interface_endpoints = network
        .active_of_type("AWS::EC2::VPCEndpoint")?
        .iter()
        .filter(|id| {
            matches!(
                network.property(id, &["VpcEndpointType"]),
                Ok(Some(Value::String(t))) if t == "Interface"
            )
        })
        .count();

    let database = data
        .active_of_type("AWS::RDS::DBInstance")?
        .into_iter()
        .next()
        .ok_or("data: no DB instance")?;
    let db_deletion_policy = data
        .resource(&database)?
        .get("DeletionPolicy")
        .and_then(Value::as_str)
        .map(str::to_owned);

    let alb = service
        .active_of_type("AWS::ElasticLoadBalancingV2::LoadBalancer")?
        .into_iter()
        .next()
        .ok_or("service: no load balancer")?;
    let mut alb_deletion_protection = None;
    if let Some(Value::Sequence(attributes)) =
        service.property(&alb, &["LoadBalancerAttributes"])?
    {
        for attribute in attributes {
            if attribute.get("Key").and_then(Value::as_str) == Some("deletion_protection.enabled") {
                alb_deletion_protection = attribute
                    .get("Value")
                    .and_then(scalar_string)
                    .map(|v| v == "true");
            }
        }
    }

    let scalable = service
        .active_of_type("AWS::ApplicationAutoScaling::ScalableTarget")?
        .into_iter()
        .next()
        .ok_or("service: no scalable target")?;
    let number = |path: &str| -> Result<i64, String> {
        service
            .scalar(&service.resource(&scalable)?["Properties"][path])?
            .parse()
            .map_err(|e| format!("{scalable}.{path}: {e}"))
    };

    let mut uses_fargate_spot = false;
    for id in service.active_of_type("AWS::ECS::Service")? {
        if let Some(Value::Sequence(strategy)) =
            service.property(&id, &["CapacityProviderStrategy"])?
        {
            uses_fargate_spot |= strategy
                .iter()
                .any(|s| s.get("CapacityProvider").and_then(Value::as_str) == Some("FARGATE_SPOT"));
        }
    }

    Ok(Facts {
        azs,
        subnets: subnets.len(),
        nat_gateways: network.active_of_type("AWS::EC2::NatGateway")?,
        app_route_nats,
        interface_endpoints,
        db_multi_az: data.property_bool(&database, &["MultiAZ"])?,
        db_deletion_protection: data.property_bool(&database, &["DeletionProtection"])?,
        db_deletion_policy,
        alb_deletion_protection,
        min_tasks: number("MinCapacity")?,
        max_tasks: number("MaxCapacity")?,
        uses_fargate_spot,
    })
}

// ------------------------------------------------------------------------------------------------
// Checks: each returns the violations it finds.

/// What must hold in every environment.
fn check_common(resolved: &Resolved) -> Vec<String> {
    let mut violations = Vec::new();
    let mut expect = |ok: bool, message: String| {
        if !ok {
            violations.push(format!("{}: {message}", resolved.env.name));
        }
    };
    for tag in ["Project", "Environment", "Owner", "CostCenter"] {
        expect(
            resolved.env.tags.get(tag).is_some_and(|v| !v.is_empty()),
            format!("tag {tag} missing"),
        );
    }
    let facts = match facts(resolved) {
        Ok(facts) => facts,
        Err(e) => return vec![format!("{}: {e}", resolved.env.name)],
    };
    expect(
        facts.subnets == 3 * facts.azs.len(),
        format!(
            "{} subnets for {} AZs (want 3 tiers per AZ)",
            facts.subnets,
            facts.azs.len()
        ),
    );
    expect(
        facts.app_route_nats.len() == facts.azs.len(),
        format!(
            "{} private-app default routes for {} AZs",
            facts.app_route_nats.len(),
            facts.azs.len()
        ),
    );
    expect(
        facts.db_deletion_policy.as_deref() == Some("Snapshot"),
        format!("database DeletionPolicy is {:?}", facts.db_deletion_policy),
    );
    expect(
        facts.min_tasks <= facts.max_tasks,
        format!(
            "MinTasks {} > MaxTasks {}",
            facts.min_tasks, facts.max_tasks
        ),
    );

    match common_service_checks(resolved) {
        Ok(mut found) => violations.append(&mut found),
        Err(e) => violations.push(format!("{}: {e}", resolved.env.name)),
    }
    violations
}

fn common_service_checks(resolved: &Resolved) -> Result<Vec<String>, String> {
    let mut violations = Vec::new();
    let name = &resolved.env.name;
    let network = resolved.stack("network")?;
    for subnet in network.active_of_type("AWS::EC2::Subnet")? {
        if network.property_bool(&subnet, &["MapPublicIpOnLaunch"])? != Some(false) {
            violations.push(format!(
                "{name}: subnet {subnet} may auto-assign public IPs"
            ));
        }
    }
    let data = resolved.stack("data")?;
    for db in data.active_of_type("AWS::RDS::DBInstance")? {
        if data.property_bool(&db, &["PubliclyAccessible"])? != Some(false) {
            violations.push(format!("{name}: database {db} is not explicitly private"));
        }
        if data.property_bool(&db, &["StorageEncrypted"])? != Some(true) {
            violations.push(format!("{name}: database {db} storage is not encrypted"));
        }
    }
    let service = resolved.stack("service")?;
    for id in service.active_of_type("AWS::ECS::Service")? {
        let config = service
            .property(&id, &["DeploymentConfiguration"])?
            .unwrap_or_default();
        let on = |v: &Value| matches!(v, Value::Bool(true));
        if !(on(&config["DeploymentCircuitBreaker"]["Enable"])
            && on(&config["DeploymentCircuitBreaker"]["Rollback"]))
        {
            violations.push(format!(
                "{name}: service {id} without circuit breaker + rollback"
            ));
        }
        let alarms = config["Alarms"]["AlarmNames"]
            .as_sequence()
            .map_or(0, Vec::len);
        if !(on(&config["Alarms"]["Enable"]) && on(&config["Alarms"]["Rollback"]) && alarms == 3) {
            violations.push(format!(
                "{name}: service {id} does not watch the 3 guard alarms with rollback"
            ));
        }
        let public_ip = service.property(
            &id,
            &[
                "NetworkConfiguration",
                "AwsvpcConfiguration",
                "AssignPublicIp",
            ],
        )?;
        if public_ip != Some(Value::String("DISABLED".into())) {
            violations.push(format!(
                "{name}: service {id} AssignPublicIp is {public_ip:?}"
            ));
        }
    }
    Ok(violations)
}

/// What each environment must be, and so how they differ.
fn check_environment(resolved: &Resolved) -> Vec<String> {
    let mut violations = check_common(resolved);
    let facts = match facts(resolved) {
        Ok(facts) => facts,
        Err(e) => return vec![format!("{}: {e}", resolved.env.name)],
    };
    let name = resolved.env.name.clone();
    let mut expect = |ok: bool, message: String| {
        if !ok {
            violations.push(format!("{name}: {message}"));
        }
    };
    let distinct_nats: BTreeSet<_> = facts.app_route_nats.iter().collect();
    let nat_per_az =
        facts.nat_gateways.len() == facts.azs.len() && distinct_nats.len() == facts.azs.len();
    match resolved.env.name.as_str() {
        "prod" => {
            expect(
                facts.azs.len() == 3,
                format!("prod spans {} AZs, must be 3", facts.azs.len()),
            );
            expect(
                nat_per_az,
                format!(
                    "prod needs a NAT gateway per AZ: {} NATs, routes use {distinct_nats:?}",
                    facts.nat_gateways.len()
                ),
            );
            expect(
                facts.db_multi_az == Some(true),
                format!("prod database MultiAZ is {:?}", facts.db_multi_az),
            );
            expect(
                facts.db_deletion_protection == Some(true),
                format!(
                    "prod database DeletionProtection is {:?}",
                    facts.db_deletion_protection
                ),
            );
            expect(
                facts.alb_deletion_protection == Some(true),
                format!(
                    "prod ALB deletion protection is {:?}",
                    facts.alb_deletion_protection
                ),
            );
            expect(
                facts.interface_endpoints == 4,
                format!(
                    "prod has {} interface endpoints, want ECR api/dkr, Logs, Secrets Manager",
                    facts.interface_endpoints
                ),
            );
            expect(
                facts.min_tasks >= facts.azs.len() as i64,
                format!("prod MinTasks {} < one task per AZ", facts.min_tasks),
            );
            expect(
                !facts.uses_fargate_spot,
                "prod must not run on Fargate Spot".into(),
            );
        }
        "staging" => {
            expect(
                facts.azs.len() == 2,
                format!("staging spans {} AZs, want 2", facts.azs.len()),
            );
            expect(
                nat_per_az,
                format!(
                    "staging needs a NAT gateway per AZ: {} NATs",
                    facts.nat_gateways.len()
                ),
            );
            expect(
                facts.db_multi_az == Some(true),
                format!("staging database MultiAZ is {:?}", facts.db_multi_az),
            );
            expect(
                facts.db_deletion_protection == Some(true),
                format!(
                    "staging database DeletionProtection is {:?}",
                    facts.db_deletion_protection
                ),
            );
            expect(
                facts.min_tasks >= 2,
                format!("staging MinTasks {} < 2", facts.min_tasks),
            );
            expect(
                !facts.uses_fargate_spot,
                "staging must not run on Fargate Spot".into(),
            );
        }
        "dev" => {
            expect(
                facts.azs.len() == 2,
                format!("dev spans {} AZs, want 2", facts.azs.len()),
            );
            expect(
                facts.nat_gateways.len() == 1,
                format!(
                    "dev must have one NAT gateway, has {}",
                    facts.nat_gateways.len()
                ),
            );
            expect(
                distinct_nats.len() == 1,
                format!("dev routes must share the one NAT, use {distinct_nats:?}"),
            );
            expect(
                facts.db_multi_az == Some(false),
                format!("dev database MultiAZ is {:?} (cost)", facts.db_multi_az),
            );
            expect(
                facts.interface_endpoints == 0,
                format!(
                    "dev has {} interface endpoints (cost)",
                    facts.interface_endpoints
                ),
            );
        }
        other => expect(false, format!("unknown environment {other}")),
    }
    violations
}

// ------------------------------------------------------------------------------------------------
// Tests

const ENVIRONMENTS: [&str; 3] = ["dev", "staging", "prod"];

fn with_parameter(mut env: Environment, layer: &str, key: &str, value: &str) -> Environment {
    let spec = env
        .stacks
        .iter_mut()
        .find(|s| s.layer == layer)
        .expect("layer exists");
    spec.parameters.insert(key.to_owned(), value.to_owned());
    env
}

fn assert_violation(violations: &[String], needle: &str) {
    assert!(
        violations.iter().any(|v| v.contains(needle)),
        "expected a violation containing {needle:?}, got {violations:#?}"
    );
}

#[test]
fn infra_prod_is_multi_az_protected_three_azs_nat_per_az() {
    let resolved = Resolved::load("prod");
    let violations = check_environment(&resolved);
    assert!(violations.is_empty(), "{violations:#?}");
    let facts = facts(&resolved).unwrap();
    assert_eq!(facts.azs.len(), 3);
    assert_eq!(
        facts.nat_gateways,
        ["NatGatewayA", "NatGatewayB", "NatGatewayC"]
    );
    assert_eq!(facts.db_multi_az, Some(true));
    assert_eq!(facts.db_deletion_protection, Some(true));
}

#[test]
fn infra_staging_is_prod_shaped_on_two_azs() {
    let violations = check_environment(&Resolved::load("staging"));
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn infra_dev_has_one_nat_two_azs() {
    let resolved = Resolved::load("dev");
    let violations = check_environment(&resolved);
    assert!(violations.is_empty(), "{violations:#?}");
    let facts = facts(&resolved).unwrap();
    assert_eq!(facts.nat_gateways, ["NatGatewayA"]);
    assert_eq!(facts.app_route_nats, ["NatGatewayA", "NatGatewayA"]);
}

#[test]
fn infra_environments_differ_where_they_must() {
    let facts: BTreeMap<_, _> = ENVIRONMENTS
        .iter()
        .map(|name| (*name, facts(&Resolved::load(name)).unwrap()))
        .collect();
    assert!(facts["prod"].azs.len() > facts["dev"].azs.len());
    assert!(facts["prod"].nat_gateways.len() > facts["dev"].nat_gateways.len());
    assert!(facts["prod"].max_tasks > facts["dev"].max_tasks);
    let budget = |name: &str| {
        load_environment(name)
            .stacks
            .iter()
            .find(|s| s.layer == "foundation")
            .unwrap()
            .parameters["MonthlyBudgetUsd"]
            .parse::<u32>()
            .unwrap()
    };
    assert!(budget("dev") < budget("staging") && budget("staging") < budget("prod"));
}

#[test]
fn infra_environment_files_name_only_existing_parameters() {
    for name in ENVIRONMENTS {
        let env = load_environment(name);
        assert_eq!(env.name, name);
        for spec in &env.stacks {
            let template = parse_template(&template_text(&spec.layer));
            let declared = template["Parameters"].as_mapping().expect("Parameters");
            for key in spec.parameters.keys() {
                assert!(
                    declared.contains_key(key.as_str()),
                    "{name}.json: {} has no parameter {key}",
                    spec.layer
                );
            }
        }
    }
}

#[test]
fn infra_tampered_prod_parameters_fail() {
    let cases = [
        ("data", "DbMultiAz", "false", "MultiAZ"),
        (
            "data",
            "DbDeletionProtection",
            "false",
            "DeletionProtection",
        ),
        ("network", "AzCount", "2", "spans 2 AZs"),
        ("network", "NatGatewayMode", "single", "NAT gateway per AZ"),
        (
            "network",
            "EnableInterfaceEndpoints",
            "false",
            "interface endpoints",
        ),
        (
            "service",
            "AlbDeletionProtection",
            "false",
            "ALB deletion protection",
        ),
        ("service", "MinTasks", "1", "MinTasks"),
        ("service", "UseFargateSpot", "true", "Fargate Spot"),
    ];
    for (layer, key, value, needle) in cases {
        let env = with_parameter(load_environment("prod"), layer, key, value);
        let violations = check_environment(&Resolved::with(env, |_, text| text));
        assert_violation(&violations, needle);
    }
}

#[test]
fn infra_tampered_dev_parameters_fail() {
    let env = with_parameter(
        load_environment("dev"),
        "network",
        "NatGatewayMode",
        "per-az",
    );
    assert_violation(
        &check_environment(&Resolved::with(env, |_, t| t)),
        "one NAT gateway",
    );
    let env = with_parameter(load_environment("dev"), "network", "AzCount", "3");
    assert_violation(
        &check_environment(&Resolved::with(env, |_, t| t)),
        "spans 3 AZs",
    );
    let env = with_parameter(load_environment("dev"), "data", "DbMultiAz", "true");
    assert_violation(
        &check_environment(&Resolved::with(env, |_, t| t)),
        "MultiAZ",
    );
}

#[test]
fn infra_tampered_templates_fail() {
    // Hard-coding a value in a template defeats the parameter file: the checks read the template.
    let edits = [
        (
            "data",
            "MultiAZ: !Ref DbMultiAz",
            "MultiAZ: false",
            "MultiAZ",
        ),
        (
            "data",
            "DeletionPolicy: Snapshot",
            "DeletionPolicy: Delete",
            "DeletionPolicy",
        ),
        (
            "network",
            "NatGatewayId: !If [NatPerAz, !Ref NatGatewayB, !Ref NatGatewayA]",
            "NatGatewayId: !Ref NatGatewayA",
            "NAT gateway per AZ",
        ),
        (
            "network",
            "MapPublicIpOnLaunch: false",
            "MapPublicIpOnLaunch: true",
            "auto-assign",
        ),
        (
            "service",
            "AssignPublicIp: DISABLED",
            "AssignPublicIp: ENABLED",
            "AssignPublicIp",
        ),
        (
            "service",
            "          - Rolling\n          - {Enable: true, Rollback: true}",
            "          - Rolling\n          - {Enable: true, Rollback: false}",
            "circuit breaker",
        ),
        (
            "service",
            "            - !Ref GuardUnhealthyHostsAlarm\n      HealthCheckGracePeriodSeconds",
            "      HealthCheckGracePeriodSeconds",
            "guard alarms",
        ),
    ];
    for (layer, from, to, needle) in edits {
        let resolved = Resolved::with(load_environment("prod"), |l, text| {
            if l == layer {
                assert!(
                    text.contains(from),
                    "{layer}.yaml no longer contains {from:?}"
                );
                text.replacen(from, to, 1)
            } else {
                text
            }
        });
        assert_violation(&check_environment(&resolved), needle);
    }
    // Control: an edit the checks do not care about leaves prod clean.
    let resolved = Resolved::with(load_environment("prod"), |l, text| {
        if l == "network" {
            text.replace("MaxAggregationInterval: 60", "MaxAggregationInterval: 600")
        } else {
            text
        }
    });
    let violations = check_environment(&resolved);
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn infra_evaluator_resolves_short_form_conditions() {
    let template = parse_template(
        r#"
Parameters:
  Mode: {Type: String, Default: single}
  Count: {Type: String, Default: "2"}
  Wired: {Type: String}
Conditions:
  PerAz: !Equals [!Ref Mode, per-az]
  Three: !Equals ["3", !Ref Count]
  Both: !And [!Condition PerAz, !Condition Three]
  Either: !Or [!Condition PerAz, !Not [!Condition Three]]
  NeedsWired: !Equals [!Ref Wired, x]
Resources:
  R:
    Type: Test::Thing
    Condition: Both
    Properties:
      Value: !If [Either, yes, no]
      Gone: !If [PerAz, kept, !Ref "AWS::NoValue"]
      List: [a, !If [Both, b, !Ref "AWS::NoValue"], c]
      Target: !If [PerAz, !Ref Other, !Ref Mode]
"#,
    );
    let env = Environment {
        name: "dev".into(),
        project: "gantry".into(),
        region: "eu-west-1".into(),
        account: "111111111111".into(),
        tags: BTreeMap::new(),
        stacks: Vec::new(),
    };
    let spec = |params: &[(&str, &str)]| StackSpec {
        layer: "test".into(),
        region: None,
        parameters: params
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
    };

    let defaults = Stack::new(&env, &spec(&[]), template.clone());
    assert!(!defaults.condition("PerAz").unwrap());
    assert!(!defaults.condition("Both").unwrap());
    assert!(defaults.condition("Either").unwrap());
    assert!(!defaults.active("R").unwrap());
    assert_eq!(
        defaults.property("R", &["Value"]).unwrap(),
        Some("yes".into())
    );
    assert_eq!(defaults.property("R", &["Gone"]).unwrap(), None);
    assert_eq!(
        defaults.property("R", &["List"]).unwrap(),
        Some(Value::Sequence(vec!["a".into(), "c".into()]))
    );
    assert_eq!(
        defaults.property("R", &["Target"]).unwrap(),
        Some("single".into())
    );
    assert!(
        defaults
            .condition("NeedsWired")
            .unwrap_err()
            .contains("earlier stack")
    );

    let overridden = Stack::new(&env, &spec(&[("Mode", "per-az"), ("Count", "3")]), template);
    assert!(overridden.condition("Both").unwrap());
    assert!(overridden.active("R").unwrap());
    assert_eq!(
        overridden.property("R", &["Gone"]).unwrap(),
        Some("kept".into())
    );
    assert_eq!(
        overridden.property("R", &["List"]).unwrap(),
        Some(Value::Sequence(vec!["a".into(), "b".into(), "c".into()]))
    );
    let target = overridden.property("R", &["Target"]).unwrap().unwrap();
    assert_eq!(ref_target(&target).as_deref(), Some("Other"));
}
