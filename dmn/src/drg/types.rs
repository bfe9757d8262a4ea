//! DMN types: FEEL types and item definitions, with conformance and coercion.

use super::*;

/// A DMN type: a FEEL type or an item definition.
#[derive(Debug, Clone)]
pub struct DmnType {
    /// Name (for messages).
    pub name: String,
    pub(super) base: Base,
    pub(super) collection: bool,
    pub(super) allowed: Option<Arc<UnaryTests>>,
}

#[derive(Debug, Clone)]
pub(super) enum Base {
    Feel(Type),
    Ref(Arc<DmnType>),
    Struct(Vec<(String, Arc<DmnType>)>),
    Function,
}

impl DmnType {
    pub(super) fn any() -> DmnType {
        DmnType {
            name: "Any".into(),
            base: Base::Feel(Type::Any),
            collection: false,
            allowed: None,
        }
    }

    /// Approximate FEEL type (for typed function parameters).
    pub fn to_feel(&self) -> Type {
        let base = match &self.base {
            Base::Feel(t) => t.clone(),
            Base::Ref(r) => r.to_feel(),
            Base::Struct(fs) => {
                Type::Context(fs.iter().map(|(n, t)| (n.clone(), t.to_feel())).collect())
            }
            Base::Function => Type::Function(vec![], Box::new(Type::Any)),
        };
        if self.collection {
            Type::List(Box::new(base))
        } else {
            base
        }
    }

    fn conforms_base(&self, v: &Value, ev: &mut Evaluator) -> Option<Value> {
        let v = match &self.base {
            Base::Feel(Type::Any) => v.clone(),
            Base::Feel(t) => {
                let c = crate::feel::eval::coerce_to(t, v.clone());
                if !t.accepts(&c) {
                    return None;
                }
                c
            }
            Base::Ref(r) => {
                let c = r.coerce(v.clone(), ev);
                if c.is_null() {
                    return None;
                }
                c
            }
            Base::Struct(fields) => {
                let Value::Context(c) = v else { return None };
                let mut out = c.clone();
                for (n, t) in fields {
                    let fv = c.get(n)?;
                    if fv.is_null() {
                        continue;
                    }
                    let cv = t.coerce(fv.clone(), ev);
                    if cv.is_null() {
                        return None;
                    }
                    out.put(n.clone(), cv);
                }
                Value::Context(out)
            }
            Base::Function => {
                if !matches!(v, Value::Function(_)) {
                    return None;
                }
                v.clone()
            }
        };
        if let Some(a) = &self.allowed {
            let mut scope = Scope::new();
            if !matches!(ev.unary_tests(a, v.clone(), &mut scope), Value::Bool(true)) {
                return None;
            }
        }
        Some(v)
    }

    /// Checks `v` against this type (§7.3.4): the value itself, a singleton
    /// list for a collection type, or null when it does not conform.
    pub fn coerce(&self, v: Value, ev: &mut Evaluator) -> Value {
        self.coerce_impl(v, ev, false)
    }

    /// Coercion for parameter binding (§10.3.2.9.4): also unwraps a
    /// singleton list when a single value is expected.
    pub fn coerce_param(&self, v: Value, ev: &mut Evaluator) -> Value {
        self.coerce_impl(v, ev, true)
    }

    fn coerce_impl(&self, v: Value, ev: &mut Evaluator, unwrap: bool) -> Value {
        if v.is_null() {
            return v;
        }
        if self.collection {
            let items = match v {
                Value::List(l) => l,
                other => vec![other],
            };
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                if i.is_null() {
                    out.push(i);
                    continue;
                }
                match self.conforms_base(&i, ev) {
                    Some(c) => out.push(c),
                    None => {
                        return Value::null(format!(
                            "value does not conform to type {}",
                            self.name
                        ));
                    }
                }
            }
            return Value::List(out);
        }
        let v = match v {
            Value::List(mut l) if unwrap && l.len() == 1 && !self.is_list_like() => {
                l.pop().unwrap_or_default()
            }
            other => other,
        };
        match self.conforms_base(&v, ev) {
            Some(c) => c,
            None => Value::null(format!(
                "{} does not conform to type {}",
                v.kind(),
                self.name
            )),
        }
    }

    fn is_list_like(&self) -> bool {
        match &self.base {
            Base::Feel(Type::List(_)) | Base::Feel(Type::Any) => true,
            Base::Ref(r) => r.collection || r.is_list_like(),
            _ => false,
        }
    }
}
