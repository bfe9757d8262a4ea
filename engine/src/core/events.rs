//! Start and end events (BPMN 2.0.2 §10.5.2, §10.5.3).
//!
//! This module covers the none start event, the none end event and the
//! terminate end event. A none end event consumes its token; the scope ends
//! when its last token is gone (§10.5.3 "implicit end"). A terminate end
//! event ends its whole scope at once: every token, job and incident inside
//! it (nested scopes included) is removed and the scope completes normally
//! (§10.5.4; Camunda does the same, the instance counts as completed).

use super::{Event, Processor, TokenId};
use crate::core::containers;

pub(crate) fn start(p: &mut Processor<'_, '_>, token: TokenId) {
    p.schedule_complete(token);
}

pub(crate) fn end(p: &mut Processor<'_, '_>, token: TokenId) {
    let Some(element) = p.state.tokens.get(&token).map(|t| t.element) else {
        return;
    };
    p.emit(Event::ElementCompleted { token, element });
    p.consume(token);
}

pub(crate) fn terminate(p: &mut Processor<'_, '_>, token: TokenId) {
    let Some((element, scope)) = p.state.tokens.get(&token).map(|t| (t.element, t.scope)) else {
        return;
    };
    p.emit(Event::ElementCompleted { token, element });
    containers::clear_scope(p, scope);
    containers::check_scope_complete(p, scope);
}
