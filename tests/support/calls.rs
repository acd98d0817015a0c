//! Which AWS operations each function can reach: a call graph of the library, read from src/ with
//! syn, walked from a function's entry points. The template's IAM policies are held against it
//! (tests/template.rs), in both directions.
//!
//! The graph over-approximates where Rust's name resolution would need a compiler: a method call
//! `x.name()` reaches every method of the library called `name`. An AWS operation is a method
//! called on one of the SDK clients (a field or variable named `ecs`, `iam`, `secrets`, `ssm`,
//! `lambda`, `cloudformation`, `tagging`, or `cloudformation_in(…)`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use syn::visit::Visit;

/// SDK client names, and the IAM service prefix of their actions.
const CLIENTS: &[(&str, &str)] = &[
    ("ecs", "ecs"),
    ("iam", "iam"),
    ("secrets", "secretsmanager"),
    ("ssm", "ssm"),
    ("lambda", "lambda"),
    ("tagging", "tag"),
    ("cloudformation", "cloudformation"),
    ("cloudformation_in", "cloudformation"),
];

/// Methods that are no AWS operation even on a client (or on a variable that shares a client's
/// name).
const NOT_OPERATIONS: &[&str] = &["clone", "config", "iter", "into_iter", "len", "is_empty"];

#[derive(Default)]
struct Function {
    /// Paths named in the body (calls, or functions passed as values), as written.
    paths: Vec<Vec<String>>,
    methods: BTreeSet<String>,
    aws: BTreeSet<String>,
    /// The module it is in, and the impl's type when it is a method.
    module: String,
    self_type: Option<String>,
}

#[derive(Default)]
pub struct CallGraph {
    functions: BTreeMap<String, Function>,
    /// Per module: a name brought in by `use` → the path it names.
    imports: BTreeMap<String, BTreeMap<String, String>>,
    /// Method name → every `module::Type::method` of that name.
    methods: BTreeMap<String, BTreeSet<String>>,
}

impl CallGraph {
    /// Reads every file under `src/` except `skip` (folders relative to src/).
    pub fn of_library(skip: &[&str]) -> Self {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut graph = CallGraph::default();
        let mut files = Vec::new();
        collect_rust_files(&src, &mut files);
        for file in files {
            let relative = file
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if skip.iter().any(|folder| relative.starts_with(folder)) {
                continue;
            }
            let module = module_of(&relative);
            let parsed = syn::parse_file(&std::fs::read_to_string(&file).unwrap())
                .unwrap_or_else(|err| panic!("{relative}: {err}"));
            graph.add_items(&module, &parsed.items);
        }
        graph
    }

    fn add_items(&mut self, module: &str, items: &[syn::Item]) {
        for item in items {
            match item {
                syn::Item::Use(item) => {
                    let mut names = Vec::new();
                    use_paths(&item.tree, Vec::new(), &mut names);
                    for (name, path) in names {
                        let target = absolute(module, &path);
                        self.imports
                            .entry(module.to_owned())
                            .or_default()
                            .insert(name, target);
                    }
                }
                syn::Item::Fn(item) => {
                    let key = join(module, &item.sig.ident.to_string());
                    self.add_function(key, module, None, &item.block);
                }
                syn::Item::Impl(item) => {
                    let Some(self_type) = type_name(&item.self_ty) else {
                        continue;
                    };
                    for inner in &item.items {
                        if let syn::ImplItem::Fn(method) = inner {
                            let name = method.sig.ident.to_string();
                            let key = join(&join(module, &self_type), &name);
                            self.methods.entry(name).or_default().insert(key.clone());
                            self.add_function(key, module, Some(self_type.clone()), &method.block);
                        }
                    }
                }
                syn::Item::Mod(item) if !is_test_only(&item.attrs) => {
                    if let Some((_, items)) = &item.content {
                        self.add_items(&join(module, &item.ident.to_string()), items);
                    }
                }
                _ => {}
            }
        }
    }

    fn add_function(
        &mut self,
        key: String,
        module: &str,
        self_type: Option<String>,
        block: &syn::Block,
    ) {
        let mut function = Function {
            module: module.to_owned(),
            self_type,
            ..Function::default()
        };
        BodyVisitor(&mut function).visit_block(block);
        self.functions.insert(key, function);
    }

    /// The functions one function may call directly.
    fn callees(&self, key: &str) -> BTreeSet<String> {
        let function = &self.functions[key];
        let mut callees = BTreeSet::new();
        for path in &function.paths {
            if let Some(target) = self.resolve(function, path) {
                callees.insert(target);
            }
        }
        for method in &function.methods {
            callees.extend(self.methods.get(method).cloned().unwrap_or_default());
        }
        callees
    }

    fn resolve(&self, function: &Function, path: &[String]) -> Option<String> {
        let module = &function.module;
        let imports = self.imports.get(module);
        let first = path.first()?;
        let base = match first.as_str() {
            "crate" => String::new(),
            "self" => module.clone(),
            "super" => parent(module),
            "Self" => join(module, function.self_type.as_deref()?),
            name if path.len() == 1 => {
                let local = join(module, name);
                if self.functions.contains_key(&local) {
                    return Some(local);
                }
                return imports
                    .and_then(|imports| imports.get(name))
                    .map(|target| self.follow_reexports(target))
                    .filter(|target| self.functions.contains_key(target));
            }
            name => match imports.and_then(|imports| imports.get(name)) {
                Some(target) => target.clone(),
                None => join(module, name),
            },
        };
        let mut full = base;
        for segment in &path[1..] {
            full = if segment == "super" {
                parent(&full)
            } else {
                join(&full, segment)
            };
        }
        let full = self.follow_reexports(&full);
        self.functions.contains_key(&full).then_some(full)
    }

    /// `resources::fargate_service::is_iam_propagation` re-exported from its `stop_reasons` is the
    /// latter.
    fn follow_reexports(&self, path: &str) -> String {
        let (module, name) = match path.rsplit_once("::") {
            Some((module, name)) => (module.to_owned(), name),
            None => (String::new(), path),
        };
        match self
            .imports
            .get(&module)
            .and_then(|imports| imports.get(name))
        {
            Some(target) if target != path && !self.functions.contains_key(path) => {
                self.follow_reexports(target)
            }
            _ => path.to_owned(),
        }
    }

    /// Every AWS action reachable from `entries`, not walking into `barriers`.
    pub fn actions_reached(&self, entries: &[&str], barriers: &[&str]) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<String> = entries
            .iter()
            .map(|entry| {
                assert!(
                    self.functions.contains_key(*entry),
                    "no function {entry} in the library"
                );
                (*entry).to_owned()
            })
            .collect();
        let mut actions = BTreeSet::new();
        while let Some(key) = stack.pop() {
            if barriers.contains(&key.as_str()) || !seen.insert(key.clone()) {
                continue;
            }
            actions.extend(self.functions[&key].aws.iter().cloned());
            stack.extend(self.callees(&key));
        }
        actions
    }

    pub fn has_function(&self, key: &str) -> bool {
        self.functions.contains_key(key)
    }
}

struct BodyVisitor<'a>(&'a mut Function);

impl<'ast> Visit<'ast> for BodyVisitor<'_> {
    fn visit_expr_path(&mut self, expr: &'ast syn::ExprPath) {
        let segments: Vec<String> = expr
            .path
            .segments
            .iter()
            .map(|segment| segment.ident.to_string())
            .collect();
        self.0.paths.push(segments);
        syn::visit::visit_expr_path(self, expr);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        let method = call.method.to_string();
        let on_self =
            matches!(&*call.receiver, syn::Expr::Path(path) if path.path.is_ident("self"));
        match client_of(&call.receiver) {
            Some(service) if !NOT_OPERATIONS.contains(&method.as_str()) => {
                self.0
                    .aws
                    .insert(format!("{service}:{}", action_name(&method)));
            }
            // `self.name()` is the impl's own method, not every method of that name.
            _ if on_self && self.0.self_type.is_some() => {
                self.0.paths.push(vec!["Self".to_owned(), method]);
            }
            _ => {
                self.0.methods.insert(method);
            }
        }
        syn::visit::visit_expr_method_call(self, call);
    }

    /// Macro arguments that parse as expressions (`format!`, `vec!`, …) are visited too.
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let parser = syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
        if let Ok(arguments) = mac.parse_body_with(parser) {
            for argument in &arguments {
                self.visit_expr(argument);
            }
        }
    }
}

/// The IAM service of the SDK client an expression is, if it is one.
fn client_of(expr: &syn::Expr) -> Option<&'static str> {
    let name = match expr {
        syn::Expr::Field(field) => match &field.member {
            syn::Member::Named(ident) => ident.to_string(),
            syn::Member::Unnamed(_) => return None,
        },
        syn::Expr::Path(path) if path.path.segments.len() == 1 => {
            path.path.segments[0].ident.to_string()
        }
        syn::Expr::MethodCall(call) => call.method.to_string(),
        syn::Expr::Reference(reference) => return client_of(&reference.expr),
        syn::Expr::Paren(paren) => return client_of(&paren.expr),
        _ => return None,
    };
    CLIENTS
        .iter()
        .find(|(client, _)| *client == name)
        .map(|(_, service)| *service)
}

/// `describe_stack_resource` → `DescribeStackResource`; Lambda's `invoke` is `InvokeFunction`.
fn action_name(method: &str) -> String {
    if method == "invoke" {
        return "InvokeFunction".into();
    }
    method
        .split('_')
        .map(|word| word[..1].to_uppercase() + &word[1..])
        .collect()
}

fn use_paths(tree: &syn::UseTree, prefix: Vec<String>, out: &mut Vec<(String, Vec<String>)>) {
    match tree {
        syn::UseTree::Path(path) => {
            let mut next = prefix;
            next.push(path.ident.to_string());
            use_paths(&path.tree, next, out);
        }
        syn::UseTree::Name(name) => {
            let ident = name.ident.to_string();
            let mut full = prefix;
            if ident == "self" {
                let last = full.last().cloned().unwrap_or_default();
                out.push((last, full));
            } else {
                full.push(ident.clone());
                out.push((ident, full));
            }
        }
        syn::UseTree::Rename(rename) => {
            let mut full = prefix;
            full.push(rename.ident.to_string());
            out.push((rename.rename.to_string(), full));
        }
        syn::UseTree::Group(group) => {
            for tree in &group.items {
                use_paths(tree, prefix.clone(), out);
            }
        }
        syn::UseTree::Glob(_) => {}
    }
}

/// A `use` path made absolute within the crate (external crates keep their own name first).
fn absolute(module: &str, path: &[String]) -> String {
    let mut full = match path.first().map(String::as_str) {
        Some("crate") => String::new(),
        Some("self") => module.to_owned(),
        Some("super") => parent(module),
        Some(other) => {
            let local = join(module, other);
            // `use policies::x` inside `resources::task_execution_role` names its child module; anything else another crate.
            if module.is_empty() {
                other.to_owned()
            } else {
                local
            }
        }
        None => return String::new(),
    };
    for segment in &path[1..] {
        full = if segment == "super" {
            parent(&full)
        } else {
            join(&full, segment)
        };
    }
    full
}

fn type_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg")
            && attr
                .parse_args::<syn::Ident>()
                .is_ok_and(|ident| ident == "test")
    })
}

fn collect_rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// `resources/fargate_cluster.rs` → `resources::fargate_cluster`; `resources/mod.rs` → `resources`; `lib.rs` → the root.
fn module_of(relative: &str) -> String {
    if relative == "lib.rs" {
        return String::new();
    }
    let trimmed = relative.trim_end_matches(".rs");
    let trimmed = trimmed.strip_suffix("/mod").unwrap_or(trimmed);
    trimmed.replace('/', "::")
}

fn join(module: &str, name: &str) -> String {
    if module.is_empty() {
        name.to_owned()
    } else {
        format!("{module}::{name}")
    }
}

fn parent(module: &str) -> String {
    module
        .rsplit_once("::")
        .map(|(parent, _)| parent.to_owned())
        .unwrap_or_default()
}
