//! One evaluation of a decision requirements graph: memoised element
//! values, input lookup and the scope each decision sees.

use super::*;

#[derive(Clone, Debug)]
pub(super) enum Memo {
    InProgress,
    Done(Value),
}

pub(super) struct Run<'a> {
    pub(super) set: &'a Arc<Set>,
    pub(super) inputs: &'a Inputs,
    pub(super) memo: Vec<Option<Memo>>,
    pub(super) overrides: HashMap<usize, Value>,
    pub(super) ev: &'a mut Evaluator,
}

impl Run<'_> {
    pub(super) fn coerce(&mut self, idx: usize, v: Value) -> Value {
        match &self.set.elems[idx].ty {
            Some(t) => t.clone().coerce(v, self.ev),
            None => v,
        }
    }

    pub(super) fn input_value(&mut self, idx: usize) -> Value {
        let e = &self.set.elems[idx];
        let ns = &self.set.models[e.model].namespace;
        if let Some((_, _, v)) = self
            .inputs
            .namespaced
            .iter()
            .find(|(n, k, _)| n == ns && *k == e.name)
        {
            return v.clone();
        }
        if e.model == 0 {
            if let Some(v) = self.inputs.values.get(&e.name) {
                return v.clone();
            }
        } else {
            // `import.name` or a context under the import name.
            for (p, ins) in &self.set.models[0].imports {
                if ins == ns {
                    if let Some(v) = self.inputs.values.get(&format!("{p}.{}", e.name)) {
                        return v.clone();
                    }
                    if let Some(Value::Context(c)) = self.inputs.values.get(p)
                        && let Some(v) = c.get(&e.name)
                    {
                        return v.clone();
                    }
                }
            }
            if let Some(v) = self.inputs.values.get(&e.name) {
                return v.clone();
            }
        }
        Value::Null(None)
    }

    pub(super) fn value(&mut self, idx: usize) -> Value {
        if !self.ev.enter() {
            return Value::null("evaluation aborted");
        }
        let v = self.value_inner(idx);
        self.ev.leave();
        v
    }

    pub(super) fn value_inner(&mut self, idx: usize) -> Value {
        if let Some(v) = self.overrides.get(&idx) {
            let v = match &self.set.elems[idx].ty {
                Some(t) => crate::value::convert_strings(&t.to_feel(), v.clone()),
                None => v.clone(),
            };
            return self.coerce(idx, v);
        }
        match &self.memo[idx] {
            Some(Memo::Done(v)) => return v.clone(),
            Some(Memo::InProgress) => {
                return Value::null(format!(
                    "cyclic requirement on '{}'",
                    self.set.elems[idx].name
                ));
            }
            None => {}
        }
        self.memo[idx] = Some(Memo::InProgress);
        let set = self.set.clone();
        let e = &set.elems[idx];
        let v = match &e.kind {
            Kind::Input => {
                let v = self.input_value(idx);
                let v = match &e.ty {
                    Some(t) => crate::value::convert_strings(&t.to_feel(), v),
                    None => v,
                };
                self.coerce(idx, v)
            }
            Kind::Decision {
                expr,
                info,
                knowledge,
            } => {
                let mut scope = self.scope_for(e.model, info, knowledge);
                let v = self.ev.eval(expr, &mut scope);
                self.coerce(idx, v)
            }
            Kind::Bkm { expr, knowledge } => {
                let mut scope = self.scope_for(e.model, &[], knowledge);
                self.ev.eval(expr, &mut scope)
            }
            Kind::Service { params, .. } => {
                let ps = params
                    .iter()
                    .map(|&p| (set.elems[p].name.clone(), None))
                    .collect();
                Value::Function(Arc::new(Function::User(UserFunction {
                    params: ps,
                    ret: None,
                    body: Arc::new(Expr::Boxed(Arc::new(ServiceBody {
                        set: set.clone(),
                        service: idx,
                    }))),
                    closure: Arc::new(vec![]),
                })))
            }
        };
        self.memo[idx] = Some(Memo::Done(v.clone()));
        v
    }

    /// The variables a decision or BKM of model `model` sees: its required
    /// elements by name (and, in Camunda's dialect, required decisions by
    /// id and by their outputs, [`crate::dialect::result_variables`]), over
    /// the input variables where the dialect or the caller makes them free.
    pub(super) fn scope_for(&mut self, model: usize, info: &[Req], knowledge: &[Req]) -> Scope {
        let dialect = self.set.models[model].dialect;
        let mut frame: Vec<(String, Value)> = Vec::new();
        let mut prefixed: Vec<(String, Context)> = Vec::new();
        let set = self.set.clone();
        for r in info.iter().chain(knowledge) {
            let v = self.value(r.elem);
            let req = &set.elems[r.elem];
            let name = req.name.clone();
            match &r.prefix {
                None if dialect.binds_required_outputs() => {
                    if !req.id.is_empty() && req.id != name {
                        frame.push((req.id.clone(), v.clone()));
                    }
                    let outputs = req.shape.as_ref().map(|shape| {
                        let matched = shape.table_id.as_ref().map_or(1, |t| {
                            self.ev
                                .audit
                                .iter()
                                .rev()
                                .find(|a| &a.table_id == t)
                                .map_or(0, |a| a.matched.len())
                        });
                        crate::dialect::result_variables(shape, &v, matched)
                    });
                    frame.push((name, v));
                    frame.extend(outputs.into_iter().flatten());
                }
                None => frame.push((name, v)),
                Some(p) => {
                    if let Some((_, c)) = prefixed.iter_mut().find(|(q, _)| q == p) {
                        c.put(name, v);
                    } else {
                        let mut c = Context::new();
                        c.put(name, v);
                        prefixed.push((p.clone(), c));
                    }
                }
            }
        }
        for (p, c) in prefixed {
            frame.push((p, Value::Context(c)));
        }
        let mut scope = Scope::new();
        if self.inputs.free_variables || dialect.free_variables() {
            scope.push(self.inputs.values.entries.clone());
        }
        scope.push(frame);
        scope
    }

    pub(super) fn service_result(&mut self, idx: usize) -> Value {
        let set = self.set.clone();
        let Kind::Service { outputs, .. } = &set.elems[idx].kind else {
            return Value::null("not a decision service");
        };
        let v = if outputs.len() == 1 {
            self.value(outputs[0])
        } else {
            let mut c = Context::new();
            for &o in outputs {
                let v = self.value(o);
                c.put(set.elems[o].name.clone(), v);
            }
            Value::Context(c)
        };
        self.coerce(idx, v)
    }
}
