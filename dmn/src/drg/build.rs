//! Compiling parsed definitions into a [`Set`]: names in scope, types,
//! requirements, and every boxed expression into the FEEL syntax tree.

use super::boxed::{ContextResult, Strict, Typed};
use super::*;

struct Builder<'a> {
    defs: &'a [Definitions],
    models: Vec<ModelInfo>,
    elems: Vec<Elem>,
    /// Elements by model and id, borrowing the ids from the definitions.
    by_id: HashMap<(usize, &'a str), usize>,
    diagnostics: Vec<Diagnostic>,
    type_cache: HashMap<(usize, String), Arc<DmnType>>,
    resolving: Vec<(usize, String)>,
    cur_elem: String,
}

fn collect_boxed_names(b: &BoxedExpr, out: &mut Vec<String>) {
    match &b.kind {
        BoxedKind::Context(es) => {
            for (v, e) in es {
                if let Some((n, _)) = v {
                    out.push(n.clone());
                }
                if let Some(e) = e {
                    collect_boxed_names(e, out);
                }
            }
        }
        BoxedKind::Invocation(c, bs) => {
            collect_boxed_names(c, out);
            for (n, e) in bs {
                out.push(n.clone());
                if let Some(e) = e {
                    collect_boxed_names(e, out);
                }
            }
        }
        BoxedKind::Relation(cols, rows) => {
            out.extend(cols.iter().cloned());
            for r in rows {
                for e in r.iter().flatten() {
                    collect_boxed_names(e, out);
                }
            }
        }
        BoxedKind::List(items) => items.iter().for_each(|e| collect_boxed_names(e, out)),
        BoxedKind::Function(_, ps, body) => {
            out.extend(ps.iter().map(|(n, _)| n.clone()));
            if let Some(b) = body {
                collect_boxed_names(b, out);
            }
        }
        BoxedKind::Conditional(a, b, c) => {
            collect_boxed_names(a, out);
            collect_boxed_names(b, out);
            collect_boxed_names(c, out);
        }
        BoxedKind::Filter(a, b) => {
            collect_boxed_names(a, out);
            collect_boxed_names(b, out);
        }
        BoxedKind::Iterator(_, v, a, b) => {
            out.push(v.clone());
            collect_boxed_names(a, out);
            collect_boxed_names(b, out);
        }
        BoxedKind::DecisionTable(t) => {
            out.extend(t.outputs.iter().filter_map(|o| o.name.clone()));
        }
        BoxedKind::Literal(_) | BoxedKind::Empty => {}
    }
}

fn collect_item_names(i: &model::ItemDefinition, out: &mut Vec<String>) {
    for c in &i.components {
        out.push(c.name.clone());
        collect_item_names(c, out);
    }
}

fn model_names(d: &Definitions) -> Vec<String> {
    let mut out = Vec::new();
    for i in &d.inputs {
        out.push(i.name.clone());
    }
    for x in &d.decisions {
        out.push(x.name.clone());
        if let Some(l) = &x.logic {
            collect_boxed_names(l, &mut out);
        }
    }
    for x in &d.bkms {
        out.push(x.name.clone());
        if let Some(l) = &x.logic {
            collect_boxed_names(l, &mut out);
        }
    }
    for x in &d.services {
        out.push(x.name.clone());
    }
    for i in &d.item_definitions {
        collect_item_names(i, &mut out);
    }
    out
}

impl<'a> Builder<'a> {
    fn diag(&mut self, code: &'static str, pos: Pos, message: String) {
        self.diagnostics.push(Diagnostic {
            code,
            element: self.cur_elem.clone(),
            line: pos.line,
            column: pos.column,
            message,
        });
    }

    /// Allocates element `id` of model `m`; its logic is compiled later.
    fn add(&mut self, m: usize, id: &'a str, name: &str, kind: Kind) {
        let idx = self.elems.len();
        self.elems.push(Elem {
            model: m,
            id: id.to_string(),
            name: name.to_string(),
            shape: None,
            ty: None,
            kind,
        });
        if !id.is_empty() {
            self.by_id.insert((m, id), idx);
        }
    }

    fn model_of_ns(&self, ns: &str) -> Option<usize> {
        self.models.iter().position(|m| m.namespace == ns)
    }

    fn resolve_href(&self, m: usize, href: &str) -> Option<Req> {
        let (ns, id) = href.split_once('#').unwrap_or(("", href));
        let target = if ns.is_empty() {
            m
        } else {
            self.model_of_ns(ns).unwrap_or(m)
        };
        let elem = *self.by_id.get(&(target, id))?;
        let prefix = if target == m {
            None
        } else {
            let tns = &self.models[target].namespace;
            self.models[m]
                .imports
                .iter()
                .find(|(_, ns)| ns == tns)
                .map(|(p, _)| p.clone())
        };
        Some(Req { elem, prefix })
    }

    fn resolve_type(&mut self, m: usize, type_ref: &str, depth: usize) -> Arc<DmnType> {
        let t = type_ref.trim();
        if let Some(c) = self.type_cache.get(&(m, t.to_string())) {
            return c.clone();
        }
        // A type that refers to itself (directly or through components) is
        // checked only down to the recursive reference.
        let key = (m, t.to_string());
        if depth > model::MAX_NESTING || self.resolving.contains(&key) {
            return Arc::new(DmnType::any());
        }
        self.resolving.push(key.clone());
        let r = self.resolve_type_uncached(m, t, depth);
        self.resolving.pop();
        self.type_cache.insert(key, r.clone());
        r
    }

    fn resolve_type_uncached(&mut self, m: usize, t: &str, depth: usize) -> Arc<DmnType> {
        // Item definitions of this model shadow FEEL built-in names.
        let defs = self.models[m].item_defs.clone();
        if let Some(d) = defs.iter().find(|d| d.name == t) {
            return Arc::new(self.item_type(m, d, depth + 1));
        }
        if let Some((prefix, rest)) = t.split_once('.')
            && let Some((_, ns)) = self.models[m]
                .imports
                .iter()
                .find(|(p, _)| p == prefix)
                .cloned()
            && let Some(tm) = self.model_of_ns(&ns)
        {
            return self.resolve_type(tm, rest, depth + 1);
        }
        if let Ok(ft) = parse_type(t) {
            return Arc::new(DmnType {
                name: t.to_string(),
                base: Base::Feel(ft),
                collection: false,
                allowed: None,
            });
        }
        // DMN 1.1 and some modellers write XML QNames: `feel:number`,
        // `xsd:string`, `tns:tPerson`.
        if let Some((_, local)) = t.split_once(':')
            && !local.is_empty()
        {
            return self.resolve_type(m, local, depth + 1);
        }
        Arc::new(DmnType {
            name: t.to_string(),
            ..DmnType::any()
        })
    }

    fn tests(&mut self, text: &str, m: usize, pos: Pos) -> Option<Arc<UnaryTests>> {
        if text.trim().is_empty() {
            return None;
        }
        let names = self.models[m].name_set.clone();
        match parse_unary_tests_in(text, &names) {
            Ok(t) => Some(Arc::new(t)),
            Err(e) => {
                self.diag("DMN101", pos, format!("in unary tests '{text}': {e}"));
                None
            }
        }
    }

    fn item_type(&mut self, m: usize, d: &model::ItemDefinition, depth: usize) -> DmnType {
        let allowed = match (&d.allowed_values, &d.type_constraint) {
            (Some(a), _) | (None, Some(a)) => self.tests(a, m, d.pos),
            _ => None,
        };
        let base = if !d.components.is_empty() {
            let mut fs = Vec::new();
            for c in &d.components {
                fs.push((c.name.clone(), Arc::new(self.item_type(m, c, depth + 1))));
            }
            Base::Struct(fs)
        } else if d.function.is_some() {
            Base::Function
        } else if let Some(tr) = &d.type_ref {
            let inner = self.resolve_type(m, tr, depth + 1);
            Base::Ref(inner)
        } else {
            Base::Feel(Type::Any)
        };
        DmnType {
            name: d.name.clone(),
            base,
            collection: d.is_collection,
            allowed,
        }
    }

    fn opt_type(&mut self, m: usize, t: &Option<String>) -> Option<Arc<DmnType>> {
        t.as_ref().map(|t| self.resolve_type(m, t, 0))
    }

    /// Expressions in a language other than FEEL (Camunda's `juel`,
    /// `javascript`, ...) cannot be evaluated: they become null with a
    /// reason and a `DMN105` diagnostic.
    fn foreign_language(
        &mut self,
        text: &str,
        lang: Option<&str>,
        m: usize,
        pos: Pos,
    ) -> Option<Expr> {
        let lang = lang
            .or(self.models[m].language.as_deref())?
            .trim()
            .to_string();
        if lang.is_empty() || lang.to_ascii_lowercase().contains("feel") {
            return None;
        }
        if lang.eq_ignore_ascii_case("juel")
            && let Some(feel) = crate::dialect::juel_as_feel(text)
        {
            return Some(self.feel(&feel, m, pos));
        }
        let msg = format!("expected a FEEL expression, found expression language '{lang}'");
        self.diag("DMN105", pos, msg.clone());
        Some(Expr::Const(Value::null(msg)))
    }

    fn feel(&mut self, text: &str, m: usize, pos: Pos) -> Expr {
        let names = self.models[m].name_set.clone();
        let types = self.models[m].feel_types.clone();
        let resolve = |n: &str| types.iter().find(|(k, _)| k == n).map(|(_, t)| t.clone());
        match parse_expression_in(text, &names, Some(&resolve)) {
            Ok(e) => e,
            Err(e) => {
                let msg = format!("in FEEL '{}': {e}", text.trim());
                self.diag("DMN100", pos, msg.clone());
                if self.models[m].dialect.parse_errors_fail() {
                    let at = format!("{}:{}: {msg}", pos.line, pos.column);
                    return Expr::Boxed(Arc::new(super::boxed::Fails(at.into())));
                }
                Expr::Const(Value::null(msg))
            }
        }
    }

    /// [`Builder::feel`], wrapped so that a misspelt variable's null says
    /// where the expression is (input expressions and literal expressions).
    /// A constant is left unwrapped, so is an expression that reads only
    /// declared names, and so is a plain name where `wrap_names` is off: an
    /// input column reading a missing variable simply matches no rule, and
    /// stays fast.
    fn located(&mut self, text: &str, m: usize, pos: Pos, wrap_names: bool) -> Expr {
        let e = self.feel(text, m, pos);
        if matches!(e, Expr::Const(_) | Expr::Boxed(_))
            || (!wrap_names && matches!(e, Expr::Name(_)))
        {
            return e;
        }
        // Only an expression reading a name the model does not declare
        // can meet a missing variable (most do not: compile stays cheap).
        let names = &self.models[m].names;
        let undeclared = |x: &Expr| {
            matches!(x, Expr::Name(n) if names.binary_search(n).is_err()
                && crate::feel::builtins::canonical(n).is_none())
        };
        if !crate::feel::eval::any_node(&e, &undeclared, false) {
            return e;
        }
        let at = format!("{}:{} in {}", pos.line, pos.column, self.cur_elem);
        Expr::Boxed(Arc::new(super::boxed::Located {
            inner: e,
            text: text.into(),
            at: at.into(),
        }))
    }

    fn boxed(&mut self, b: &BoxedExpr, m: usize) -> Expr {
        let e = self.boxed_inner(b, m);
        match &b.type_ref {
            Some(t) if !matches!(b.kind, BoxedKind::Function(..)) => {
                let ty = self.resolve_type(m, t, 0);
                if matches!(ty.base, Base::Feel(Type::Any))
                    && !ty.collection
                    && ty.allowed.is_none()
                {
                    return e;
                }
                Expr::Boxed(Arc::new(Typed { inner: e, ty }))
            }
            _ => e,
        }
    }

    fn boxed_inner(&mut self, b: &BoxedExpr, m: usize) -> Expr {
        match &b.kind {
            BoxedKind::Literal(t) => {
                match self.foreign_language(t, b.language.as_deref(), m, b.pos) {
                    Some(e) => e,
                    None => self.located(t, m, b.pos, true),
                }
            }
            BoxedKind::Empty => Expr::Const(Value::Null(None)),
            BoxedKind::Context(entries) => {
                let mut out = Vec::new();
                let mut result = None;
                for (var, val) in entries {
                    let mut e = match val {
                        Some(v) => self.boxed(v, m),
                        None => Expr::Const(Value::Null(None)),
                    };
                    match var {
                        Some((n, t)) => {
                            if let Some(t) = t {
                                let ty = self.resolve_type(m, t, 0);
                                e = Expr::Boxed(Arc::new(Typed { inner: e, ty }));
                            }
                            out.push((n.clone(), e))
                        }
                        None => result = Some(e),
                    }
                }
                match result {
                    None => Expr::Context(out),
                    Some(r) => Expr::Boxed(Arc::new(ContextResult {
                        entries: out,
                        result: r,
                    })),
                }
            }
            BoxedKind::List(items) => Expr::List(items.iter().map(|i| self.boxed(i, m)).collect()),
            BoxedKind::Relation(cols, rows) => Expr::List(
                rows.iter()
                    .map(|r| {
                        Expr::Context(
                            cols.iter()
                                .zip(r.iter())
                                .map(|(c, e)| {
                                    (
                                        c.clone(),
                                        e.as_ref()
                                            .map(|e| self.boxed(e, m))
                                            .unwrap_or(Expr::Const(Value::Null(None))),
                                    )
                                })
                                .collect(),
                        )
                    })
                    .collect(),
            ),
            BoxedKind::Invocation(callee, binds) => {
                let f = self.boxed(callee, m);
                let args = binds
                    .iter()
                    .map(|(n, e)| {
                        (
                            n.clone(),
                            e.as_ref()
                                .map(|e| self.boxed(e, m))
                                .unwrap_or(Expr::Const(Value::Null(None))),
                        )
                    })
                    .collect();
                Expr::Call(Box::new(f), Args::Named(args))
            }
            BoxedKind::Function(kind, params, body) => {
                let ps: Vec<(String, Option<Type>)> = params
                    .iter()
                    .map(|(n, t)| {
                        (
                            n.clone(),
                            t.as_ref()
                                .map(|t| self.resolve_type(m, t, 0).to_feel())
                                .filter(|t| *t != Type::Any),
                        )
                    })
                    .collect();
                let body = if kind == "Java" {
                    let mapping = match body {
                        Some(b) => self.boxed(b, m),
                        None => Expr::Const(Value::Null(None)),
                    };
                    Expr::Boxed(Arc::new(crate::feel::java::JavaFunction {
                        mapping,
                        params: ps.iter().map(|(n, _)| n.clone()).collect(),
                    }))
                } else if kind != "FEEL" && !kind.is_empty() {
                    Expr::Const(Value::null(format!(
                        "function kind {kind} is not supported"
                    )))
                } else {
                    match body {
                        Some(b) => self.boxed(b, m),
                        None => Expr::Const(Value::Null(None)),
                    }
                };
                Expr::FunctionDef {
                    params: ps,
                    body: Arc::new(body),
                }
            }
            BoxedKind::Conditional(c, a, e) => Expr::Boxed(Arc::new(Strict::If(
                self.boxed(c, m),
                self.boxed(a, m),
                self.boxed(e, m),
            ))),
            BoxedKind::Filter(l, f) => {
                Expr::Boxed(Arc::new(Strict::Filter(self.boxed(l, m), self.boxed(f, m))))
            }
            BoxedKind::Iterator(k, var, input, body) => {
                let i = self.boxed(input, m);
                let bd = self.boxed(body, m);
                match k.as_str() {
                    "for" => Expr::For(vec![(var.clone(), i)], Box::new(bd)),
                    other => Expr::Boxed(Arc::new(Strict::Quantified(
                        other == "every",
                        var.clone(),
                        i,
                        bd,
                    ))),
                }
            }
            BoxedKind::DecisionTable(t) => self.table(t, m),
        }
    }

    /// One input entry: empty is `-` (Camunda Modeler writes an empty cell
    /// as `<text/>`); a trivial `juel` entry is read as FEEL; one that does
    /// not parse makes the table null (`Err`), or fails the evaluation
    /// where the dialect says so.
    fn input_entry(
        &mut self,
        entry: &model::Entry,
        m: usize,
        rule: &str,
    ) -> Result<crate::decision_table::Matcher, Expr> {
        use crate::decision_table::Matcher;
        let juel = entry
            .language
            .as_deref()
            .is_some_and(|l| l.trim().eq_ignore_ascii_case("juel"));
        let text = match juel
            .then(|| crate::dialect::juel_as_feel(&entry.text))
            .flatten()
        {
            Some(feel) => feel,
            None => entry.text.clone(),
        };
        if text.trim().is_empty() {
            return Ok(Matcher::Any);
        }
        let names = self.models[m].name_set.clone();
        match parse_unary_tests_in(&text, &names) {
            Ok(u) => Ok(Matcher::new(u)),
            Err(e) => {
                let msg = format!("in input entry '{}' of rule {rule}: {e}", entry.text);
                self.diag("DMN101", entry.pos, msg.clone());
                if self.models[m].dialect.parse_errors_fail() {
                    let at = format!("{}:{}: {msg}", entry.pos.line, entry.pos.column);
                    return Ok(Matcher::Fail(at.into()));
                }
                Err(Expr::Const(Value::null(msg)))
            }
        }
    }

    /// One output entry; an empty one is null, or left out of the rule's
    /// result where the dialect says so (`None`).
    fn output_entry(&mut self, entry: &model::Entry, m: usize) -> Option<Expr> {
        if entry.text.trim().is_empty() {
            if self.models[m].dialect.omits_empty_outputs() {
                return None;
            }
            return Some(Expr::Const(Value::Null(None)));
        }
        Some(
            match self.foreign_language(&entry.text, entry.language.as_deref(), m, entry.pos) {
                Some(e) => e,
                None => self.feel(&entry.text, m, entry.pos),
            },
        )
    }

    fn table(&mut self, t: &model::DecisionTableDef, m: usize) -> Expr {
        let Some(hit) = HitPolicy::parse(&t.hit_policy, t.aggregation.as_deref()) else {
            let msg = format!("expected a DMN hit policy, found '{}'", t.hit_policy);
            self.diag("DMN102", t.pos, msg.clone());
            return Expr::Const(Value::null(msg));
        };
        let mut inputs = Vec::new();
        let dialect = self.models[m].dialect;
        for i in &t.inputs {
            let expr = match self.foreign_language(&i.expr, i.language.as_deref(), m, t.pos) {
                Some(e) => e,
                None => self.located(&i.expr, m, t.pos, false),
            };
            let values = i.values.as_ref().and_then(|v| self.tests(v, m, t.pos));
            // The input expression's typeRef is informative (§8.3.2); values
            // are checked against the input values instead — except where
            // the dialect converts the value to it.
            let convert_to = if dialect.converts_inputs() {
                i.type_ref.clone()
            } else {
                None
            };
            inputs.push(InputClause {
                expr,
                values,
                convert_to,
            });
        }
        let mut outputs = Vec::new();
        for o in &t.outputs {
            let values = o.values.as_ref().and_then(|v| self.tests(v, m, t.pos));
            let default = o.default.as_ref().map(|d| self.feel(d, m, t.pos));
            outputs.push(OutputClause {
                name: o.name.clone().unwrap_or_default(),
                values,
                default,
            });
        }
        let mut rules = Vec::new();
        for r in &t.rules {
            if r.inputs.len() != t.inputs.len() || r.outputs.len() != t.outputs.len() {
                let msg = format!(
                    "expected {} input and {} output entries in rule {}, found {} and {}",
                    t.inputs.len(),
                    t.outputs.len(),
                    r.id,
                    r.inputs.len(),
                    r.outputs.len()
                );
                self.diag("DMN103", t.pos, msg.clone());
                return Expr::Const(Value::null(msg));
            }
            let mut tests = Vec::new();
            for entry in &r.inputs {
                match self.input_entry(entry, m, &r.id) {
                    Ok(matcher) => tests.push(matcher),
                    Err(null) => return null,
                }
            }
            let outs = r.outputs.iter().map(|e| self.output_entry(e, m)).collect();
            rules.push(Rule {
                id: r.id.clone(),
                tests,
                outputs: outs,
                annotations: r.annotations.clone(),
            });
        }
        Expr::Boxed(Arc::new(DecisionTable {
            id: if t.id.is_empty() {
                self.cur_elem.clone()
            } else {
                t.id.clone()
            },
            hit,
            inputs,
            outputs,
            rules,
            annotation_names: t.annotations.clone(),
            aggregate_per_rule: dialect.aggregates_per_rule(),
        }))
    }
}

impl Builder<'_> {
    fn reqs(&mut self, m: usize, hrefs: &[String], pos: Pos) -> Vec<Req> {
        let mut out = Vec::new();
        for h in hrefs {
            match self.resolve_href(m, h) {
                Some(r) => out.push(r),
                None => self.diag(
                    "DMN104",
                    pos,
                    format!("expected a reference to an element of a loaded model, found '{h}'"),
                ),
            }
        }
        out
    }
}

/// Builds the compiled set from parsed definitions; the first one is the main model.
pub(super) fn build(defs: &[Definitions]) -> Set {
    let mut b = Builder {
        defs,
        models: Vec::new(),
        elems: Vec::new(),
        by_id: HashMap::new(),
        diagnostics: Vec::new(),
        type_cache: HashMap::new(),
        resolving: Vec::new(),
        cur_elem: String::new(),
    };
    for d in b.defs {
        b.models.push(ModelInfo {
            namespace: d.namespace.clone(),
            name: d.name.clone(),
            imports: d
                .imports
                .iter()
                .map(|i| (i.name.clone(), i.namespace.clone()))
                .collect(),
            item_defs: d.item_definitions.clone(),
            names: Vec::new(),
            name_set: Arc::new(Names::default()),
            feel_types: Vec::new(),
            language: d.expression_language.clone(),
            dialect: crate::dialect::detect(d),
        });
    }
    // Names in scope per model: own names, import prefixes and imported names.
    let own: Vec<Vec<String>> = defs.iter().map(model_names).collect();
    for m in 0..defs.len() {
        let mut names = own[m].clone();
        for (p, ns) in b.models[m].imports.clone() {
            names.push(p.clone());
            if let Some(t) = b.model_of_ns(&ns) {
                for n in &own[t] {
                    names.push(n.clone());
                    names.push(format!("{p}.{n}"));
                }
            }
        }
        names.sort();
        names.dedup();
        b.models[m].name_set = Arc::new(Names::new(&names));
        b.models[m].names = names;
    }
    // FEEL views of the item definitions, for `instance of`.
    for m in 0..defs.len() {
        let mut ts = Vec::new();
        for d in &defs[m].item_definitions {
            let t = b.resolve_type(m, &d.name, 0).to_feel();
            ts.push((d.name.clone(), t));
        }
        for (p, ns) in b.models[m].imports.clone() {
            if let Some(t) = b.model_of_ns(&ns) {
                for d in &defs[t].item_definitions {
                    let ty = b.resolve_type(t, &d.name, 0).to_feel();
                    ts.push((format!("{p}.{}", d.name), ty));
                }
            }
        }
        b.models[m].feel_types = ts;
    }
    // Allocate elements (per model: inputs, decisions, BKMs, services).
    let mut starts: Vec<usize> = Vec::new();
    for (m, d) in defs.iter().enumerate() {
        starts.push(b.elems.len());
        for i in &d.inputs {
            b.add(m, &i.id, &i.name, Kind::Input);
        }
        for x in &d.decisions {
            b.add(
                m,
                &x.id,
                &x.name,
                Kind::Decision {
                    expr: Expr::Const(Value::Null(None)),
                    info: vec![],
                    knowledge: vec![],
                },
            );
        }
        for x in &d.bkms {
            b.add(
                m,
                &x.id,
                &x.name,
                Kind::Bkm {
                    expr: Expr::Const(Value::Null(None)),
                    knowledge: vec![],
                },
            );
        }
        for x in &d.services {
            b.add(
                m,
                &x.id,
                &x.name,
                Kind::Service {
                    outputs: vec![],
                    params: vec![],
                },
            );
        }
    }
    // Compile.
    for (m, d) in defs.iter().enumerate() {
        for (k, i) in d.inputs.iter().enumerate() {
            let ty = b.opt_type(m, &i.type_ref);
            let idx = starts[m] + k;
            b.elems[idx].ty = ty;
        }
        for (k, x) in d.decisions.iter().enumerate() {
            b.cur_elem = x.name.clone();
            let ty = b.opt_type(m, &x.type_ref);
            let info = b.reqs(m, &x.info_reqs, x.pos);
            let knowledge = b.reqs(m, &x.knowledge_reqs, x.pos);
            let expr = match &x.logic {
                Some(l) => b.boxed(l, m),
                None => Expr::Const(Value::null(format!(
                    "decision '{}' has no decision logic",
                    x.name
                ))),
            };
            let idx = starts[m] + d.inputs.len() + k;
            b.elems[idx].ty = ty;
            if b.models[m].dialect.binds_required_outputs() {
                b.elems[idx].shape = result_shape(x);
            }
            b.elems[idx].kind = Kind::Decision {
                expr,
                info,
                knowledge,
            };
        }
        for (k, x) in d.bkms.iter().enumerate() {
            b.cur_elem = x.name.clone();
            let knowledge = b.reqs(m, &x.knowledge_reqs, x.pos);
            let mut expr = match &x.logic {
                Some(l) => b.boxed(l, m),
                None => Expr::FunctionDef {
                    params: vec![],
                    body: Arc::new(Expr::Const(Value::Null(None))),
                },
            };
            // The BKM's variable type is the type of the invocation result.
            if let (Some(t), Expr::FunctionDef { params, body }) = (&x.type_ref, &expr) {
                let ty = b.resolve_type(m, t, 0);
                if !matches!(ty.base, Base::Feel(Type::Any) | Base::Function) {
                    expr = Expr::FunctionDef {
                        params: params.clone(),
                        body: Arc::new(Expr::Boxed(Arc::new(Typed {
                            inner: (**body).clone(),
                            ty,
                        }))),
                    };
                }
            }
            let idx = starts[m] + d.inputs.len() + d.decisions.len() + k;
            b.elems[idx].kind = Kind::Bkm { expr, knowledge };
        }
        for (k, x) in d.services.iter().enumerate() {
            b.cur_elem = x.name.clone();
            let outputs = b
                .reqs(m, &x.outputs, x.pos)
                .into_iter()
                .map(|r| r.elem)
                .collect();
            let hs: Vec<String> = x.params.iter().map(|(_, h)| h.clone()).collect();
            let params = b.reqs(m, &hs, x.pos).into_iter().map(|r| r.elem).collect();
            let ty = b.opt_type(m, &x.type_ref);
            let idx = starts[m] + d.inputs.len() + d.decisions.len() + d.bkms.len() + k;
            b.elems[idx].ty = ty;
            b.elems[idx].kind = Kind::Service { outputs, params };
        }
    }
    Set {
        models: b.models,
        elems: b.elems,
        diagnostics: b.diagnostics,
    }
}

/// How Camunda 7 binds a decision table's result for the decisions that
/// require it: its named outputs, and whether it gives a list.
fn result_shape(d: &model::Decision) -> Option<ResultShape> {
    let BoxedKind::DecisionTable(t) = &d.logic.as_ref()?.kind else {
        return None;
    };
    let policy = HitPolicy::parse(&t.hit_policy, t.aggregation.as_deref())?;
    let multi = matches!(
        policy,
        HitPolicy::RuleOrder | HitPolicy::OutputOrder | HitPolicy::Collect(None)
    );
    Some(ResultShape {
        outputs: t.outputs.iter().filter_map(|o| o.name.clone()).collect(),
        multi,
        table_id: Some(if t.id.is_empty() {
            d.name.clone()
        } else {
            t.id.clone()
        }),
    })
}
