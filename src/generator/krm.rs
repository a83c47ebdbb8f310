//! The KRM function contract: a `config.kubernetes.io/v1` `ResourceList` in, one out.
//!
//! The generator config comes from `functionConfig` (falling back to KSOPS's reading of
//! `items`, where every item is a config). kustomize also sends a copy of the config as the only
//! item, marked `config.kubernetes.io/local-config`; that copy is dropped. Every other item is
//! passed through (kpt deletes what a function does not return) and the generated objects are
//! appended, in generator order.
//!
//! [`respond`] is the whole function: it reads the list, runs every config on objects (no
//! text is parsed back), and answers either with the objects appended or, on any failure, with
//! the passed-through items only and error results: one per failed key when a data key could
//! not be recovered, so that each reads on its own line in `kpt`'s report.

use zeroize::Zeroizing;

use crate::generator::binding::Binding;
use crate::generator::confine::Root;
use crate::generator::generate::{GenerateError, ValueMode, generate_objects};
use crate::generator::schema::{GeneratorConfig, GeneratorId, SchemaError};
use crate::sops::StoreError;
use crate::sops::{Document, Mapping, Value};
use crate::sops::{emit_yaml, parse_manifests};

/// The annotation kustomize puts on its copy of the function config.
const LOCAL_CONFIG: &str = "config.kubernetes.io/local-config";

/// A `ResourceList` that is not usable.
#[derive(Debug, thiserror::Error)]
pub enum KrmError {
    /// Standard input is not YAML.
    #[error("the input is not a YAML ResourceList: {0}")]
    Yaml(StoreError),
    /// The input is YAML but not a ResourceList.
    #[error(
        "the input is not a ResourceList (expected one document of kind ResourceList, as kustomize and kpt send)"
    )]
    NotAResourceList,
    /// Neither `functionConfig` nor `items` holds a config.
    #[error("the ResourceList has no functionConfig and no items to read a ksops config from")]
    NoConfig,
    /// The output could not be written.
    #[error("writing the ResourceList: {0}")]
    Emit(StoreError),
}

/// What the function was given.
#[derive(Debug)]
pub struct ResourceList {
    /// The generator configs to run: `functionConfig`, or every item when there is none.
    pub configs: Vec<Value>,
    /// The items to pass through unchanged.
    pub passthrough: Vec<Value>,
    /// `functionConfig`, echoed back in the output.
    pub function_config: Option<Value>,
}

/// Reads a ResourceList from standard input's bytes.
pub fn read(input: &[u8]) -> Result<ResourceList, KrmError> {
    let mut documents = parse_manifests(input).map_err(KrmError::Yaml)?;
    documents.retain(|doc| !doc.is_empty());
    let [list] = <[Document; 1]>::try_from(documents).map_err(|_| KrmError::NotAResourceList)?;
    if text(&list, "kind") != Some("ResourceList") {
        return Err(KrmError::NotAResourceList);
    }
    let items = match list.get("items") {
        Some(Value::Sequence(items)) => items.clone(),
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err(KrmError::NotAResourceList),
    };
    let function_config = match list.get("functionConfig") {
        Some(config @ Value::Mapping(_)) => Some(config.clone()),
        _ => None,
    };
    match function_config {
        Some(config) => {
            let passthrough = items
                .into_iter()
                .filter(|item| !is_config_copy(item, &config))
                .collect();
            Ok(ResourceList {
                configs: vec![config.clone()],
                passthrough,
                function_config: Some(config),
            })
        }
        // KSOPS reads every item as a config when it is run without a functionConfig.
        None if !items.is_empty() => Ok(ResourceList {
            configs: items,
            passthrough: Vec::new(),
            function_config: None,
        }),
        None => Err(KrmError::NoConfig),
    }
}

/// Whether an item is kustomize's local copy of the function config: same apiVersion, kind
/// and name, marked local-config.
fn is_config_copy(item: &Value, config: &Value) -> bool {
    let (Value::Mapping(item), Value::Mapping(config)) = (item, config) else {
        return false;
    };
    let same = |key| text(item, key) == text(config, key);
    let local = metadata(item)
        .and_then(|m| match m.get("annotations") {
            Some(Value::Mapping(a)) => a.get(LOCAL_CONFIG).and_then(Value::as_bytes),
            _ => None,
        })
        .is_some_and(|v| v == b"true");
    local
        && same("apiVersion")
        && same("kind")
        && metadata(item).and_then(|m| text(m, "name"))
            == metadata(config).and_then(|m| text(m, "name"))
}

fn metadata(map: &Mapping) -> Option<&Mapping> {
    match map.get("metadata") {
        Some(Value::Mapping(m)) => Some(m),
        _ => None,
    }
}

fn text<'a>(map: &'a Mapping, key: &str) -> Option<&'a str> {
    map.get(key)
        .and_then(Value::as_bytes)
        .and_then(|b| std::str::from_utf8(b).ok())
}

/// What the generators of one run need, prepared by the caller from its settings.
#[derive(Debug)]
pub struct Setup {
    /// The kustomization root files are read beneath.
    pub root: Root,
    /// What becomes of the values.
    pub values: ValueMode,
    /// Files decrypted at once.
    pub concurrency: usize,
    /// The tenant binding.
    pub binding: Binding,
}

/// The function's answer.
#[derive(Debug)]
pub struct Response {
    /// The ResourceList to print: the items and generated objects, or on failure the items and
    /// error results.
    pub output: Zeroizing<Vec<u8>>,
    /// The failure, also reported in `output`; the exit status is then non-zero.
    pub failure: Option<KrmFailure>,
}

/// Why the function produced no objects.
#[derive(Debug, thiserror::Error)]
pub enum KrmFailure {
    /// Standard input is not a usable ResourceList.
    #[error(transparent)]
    Input(KrmError),
    /// The caller's settings could not be used.
    #[error(transparent)]
    Setup(Box<dyn std::error::Error + Send + Sync>),
    /// A generator config is invalid: the generator, as far as it could be read, and what is
    /// wrong with it.
    #[error("generator `{}`: {}", .0.0, .0.1)]
    Config(Box<(GeneratorId, SchemaError)>),
    /// A generator failed.
    #[error(transparent)]
    Generate(Box<GenerateError>),
}

/// One error result of the output list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorResult {
    /// What failed, on one line.
    pub message: String,
    /// The file involved, relative to the kustomization root.
    pub file: Option<String>,
}

/// Runs the KRM function on standard input's bytes. `setup` is called once the list has been
/// read; its failure becomes an error result like any other.
pub fn respond<E: std::error::Error + Send + Sync + 'static>(
    input: &[u8],
    setup: impl FnOnce() -> Result<Setup, E>,
) -> Result<Response, KrmError> {
    let list = match read(input) {
        Ok(list) => list,
        Err(error) => return answer_failure(Vec::new(), None, KrmFailure::Input(error)),
    };
    let setup = match setup() {
        Ok(setup) => setup,
        Err(error) => {
            let failure = KrmFailure::Setup(Box::new(error));
            return answer_failure(list.passthrough, list.function_config, failure);
        }
    };
    let mut generated = Zeroizing::new(Vec::new());
    for value in &list.configs {
        let outcome = GeneratorConfig::from_value(value)
            .map_err(|error| KrmFailure::Config(Box::new((GeneratorId::peek(value), error))))
            .and_then(|config| {
                generate_objects(
                    &config,
                    &setup.root,
                    &setup.values,
                    setup.concurrency,
                    &setup.binding,
                )
                .map_err(KrmFailure::Generate)
            });
        match outcome {
            Ok(mut objects) => generated.extend(objects.drain(..)),
            Err(failure) => {
                return answer_failure(list.passthrough, list.function_config, failure);
            }
        }
    }
    let mut items = list.passthrough;
    items.extend(generated.drain(..).map(Value::Mapping));
    let output = write(items, list.function_config, &[])?;
    Ok(Response {
        output,
        failure: None,
    })
}

/// The failure answer: passed-through items only, never generated ones, and the failure as
/// error results.
fn answer_failure(
    passthrough: Vec<Value>,
    function_config: Option<Value>,
    failure: KrmFailure,
) -> Result<Response, KrmError> {
    let results = match &failure {
        KrmFailure::Generate(error) => error_results(error),
        other => vec![ErrorResult {
            message: one_line(&other.to_string()),
            file: None,
        }],
    };
    let output = write(passthrough, function_config, &results)?;
    Ok(Response {
        output,
        failure: Some(failure),
    })
}

/// A generator's failure as error results. A data key that no identity recovered gives one
/// result saying so and one per key that failed, each on one line; anything else one result.
fn error_results(error: &GenerateError) -> Vec<ErrorResult> {
    let context = format!("generator `{}`: {}", error.generator, error.origin);
    let result = |message: String| ErrorResult {
        message,
        file: error.path.clone(),
    };
    let Some(report) = error.data_key_failure() else {
        return vec![result(one_line(&error.to_string()))];
    };
    let mut results = vec![result(format!(
        "{context}: decrypting the file: {}",
        report.summary()
    ))];
    results.extend(report.failed_keys().map(|key| {
        result(format!(
            "{context}: key group {}: {}: {}",
            key.group,
            key.key,
            one_line(key.reason)
        ))
    }));
    results
}

/// `text` with every run of whitespace, line breaks included, as one space.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Writes the output ResourceList: the items, the echoed functionConfig, and the error results.
pub fn write(
    items: Vec<Value>,
    function_config: Option<Value>,
    errors: &[ErrorResult],
) -> Result<Zeroizing<Vec<u8>>, KrmError> {
    let mut list = Mapping::new();
    list.push("apiVersion", Value::str("config.kubernetes.io/v1"));
    list.push("kind", Value::str("ResourceList"));
    list.push("items", Value::Sequence(items));
    if let Some(config) = function_config {
        list.push("functionConfig", config);
    }
    if !errors.is_empty() {
        let results = errors
            .iter()
            .map(|error| {
                let mut result = Mapping::new();
                result.push("message", Value::str(&error.message));
                result.push("severity", Value::str("error"));
                if let Some(path) = &error.file {
                    let mut file_ref = Mapping::new();
                    file_ref.push("path", Value::str(path));
                    result.push("file", Value::Mapping(file_ref));
                }
                Value::Mapping(result)
            })
            .collect();
        list.push("results", Value::Sequence(results));
    }
    // The list holds decrypted objects: it is wiped once written.
    let list = Zeroizing::new(vec![list]);
    emit_yaml(&list, 2)
        .map(Zeroizing::new)
        .map_err(KrmError::Emit)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What kustomize sends (shared with the end-to-end tests), with `a.yaml` as the file.
    fn from_kustomize() -> String {
        include_str!("../../tests/fixtures/krm/from-kustomize.yaml").replace("FILE", "a.yaml")
    }

    #[test]
    fn drops_kustomizes_config_copy() {
        let list = read(from_kustomize().as_bytes()).unwrap();
        assert_eq!(list.configs.len(), 1);
        assert!(list.passthrough.is_empty());
        assert!(list.function_config.is_some());
    }

    #[test]
    fn passes_other_items_through() {
        let input = from_kustomize().replace(
            "items:\n",
            "items:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: keep\n  data:\n    k: v\n",
        );
        let list = read(input.as_bytes()).unwrap();
        assert_eq!(list.passthrough.len(), 1);
        let out = write(list.passthrough, list.function_config, &[]).unwrap();
        let text = String::from_utf8(out.to_vec()).unwrap();
        assert!(text.starts_with(
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n  - apiVersion: v1\n"
        ));
        assert!(text.contains("functionConfig:"));
        assert!(!text.contains("results"));
    }

    #[test]
    fn passed_through_timestamps_keep_their_text() {
        let input = from_kustomize().replace(
            "items:\n",
            "items:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: keep\n  data:\n    when: 2024-01-02\n",
        );
        let list = read(input.as_bytes()).unwrap();
        let text = String::from_utf8(write(list.passthrough, None, &[]).unwrap().to_vec()).unwrap();
        assert!(text.contains("when: \"2024-01-02\""), "{text}");
    }

    #[test]
    fn without_function_config_every_item_is_a_config() {
        let input = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- kind: ksops\n  files: []\n- kind: ksops\n  files: []\n";
        let list = read(input.as_bytes()).unwrap();
        assert_eq!(list.configs.len(), 2);
    }

    #[test]
    fn refuses_what_is_not_a_resource_list() {
        assert!(matches!(
            read(b"kind: ksops\nfiles: []\n"),
            Err(KrmError::NotAResourceList)
        ));
        assert!(matches!(
            read(b"kind: ResourceList\n"),
            Err(KrmError::NoConfig)
        ));
        assert!(matches!(read(b"a: [\n"), Err(KrmError::Yaml(_))));
    }

    #[test]
    fn errors_are_reported_as_results() {
        let error = ErrorResult {
            message: "boom".into(),
            file: Some("a.yaml".into()),
        };
        let out = write(vec![], None, &[error]).unwrap();
        let text = String::from_utf8(out.to_vec()).unwrap();
        assert!(
            text.contains(
                "results:\n  - message: boom\n    severity: error\n    file:\n      path: a.yaml\n"
            ),
            "{text}"
        );
    }
}
