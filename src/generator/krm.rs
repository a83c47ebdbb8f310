//! The KRM function contract: a `config.kubernetes.io/v1` `ResourceList` in, one out.
//!
//! The generator config comes from `functionConfig` (falling back to KSOPS's reading of
//! `items`, where every item is a config). kustomize also sends a copy of the config as the only
//! item, marked `config.kubernetes.io/local-config`; that copy is dropped. Every other item is
//! passed through (kpt deletes what a function does not return) and the generated objects are
//! appended, in generator order.

use crate::sops::stores::StoreError;
use crate::sops::stores::yaml::{emit, parse_manifests};
use crate::sops::tree::{Document, Mapping, Value};

/// The annotation kustomize puts on its copy of the function config.
const LOCAL_CONFIG: &str = "config.kubernetes.io/local-config";

/// A `ResourceList` that is not usable.
#[derive(Debug, thiserror::Error)]
pub enum KrmError {
    /// Standard input is not YAML.
    #[error("the input is not a YAML ResourceList: {0}")]
    Yaml(#[source] StoreError),
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
    Emit(#[source] StoreError),
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

/// Parses a generator's YAML stream into the objects to append.
pub fn objects(stream: &[u8]) -> Result<Vec<Value>, KrmError> {
    let documents = parse_manifests(stream).map_err(KrmError::Yaml)?;
    Ok(documents
        .into_iter()
        .filter(|doc| !doc.is_empty())
        .map(Value::Mapping)
        .collect())
}

/// Writes the output ResourceList: the items, the echoed functionConfig, and on failure one
/// error result naming the file.
pub fn write(
    items: Vec<Value>,
    function_config: Option<Value>,
    error: Option<(&str, Option<&str>)>,
) -> Result<Vec<u8>, KrmError> {
    let mut list = Mapping::new();
    list.push("apiVersion", Value::str("config.kubernetes.io/v1"));
    list.push("kind", Value::str("ResourceList"));
    list.push("items", Value::Sequence(items));
    if let Some(config) = function_config {
        list.push("functionConfig", config);
    }
    if let Some((message, file)) = error {
        let mut result = Mapping::new();
        result.push("message", Value::str(message));
        result.push("severity", Value::str("error"));
        if let Some(path) = file {
            let mut file_ref = Mapping::new();
            file_ref.push("path", Value::str(path));
            result.push("file", Value::Mapping(file_ref));
        }
        list.push("results", Value::Sequence(vec![Value::Mapping(result)]));
    }
    emit(&[list], 2).map_err(KrmError::Emit)
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
        let out = write(list.passthrough, list.function_config, None).unwrap();
        let text = String::from_utf8(out).unwrap();
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
        let text = String::from_utf8(write(list.passthrough, None, None).unwrap()).unwrap();
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
        let out = write(vec![], None, Some(("boom", Some("a.yaml")))).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(
                "results:\n  - message: boom\n    severity: error\n    file:\n      path: a.yaml\n"
            ),
            "{text}"
        );
    }
}
