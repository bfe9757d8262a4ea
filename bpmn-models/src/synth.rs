//! Synthetic BPMN documents of any size, for benchmarks and stress tests.

use std::fmt::Write as _;

/// A Camunda-Modeler-style document with one executable process of about
/// `nodes` flow nodes: a chain of user, service and script tasks broken up by
/// exclusive gateway diamonds, with a shape for every node and an edge with
/// waypoints for every flow (so the DI makes up most of the bytes, as in real
/// files).
pub fn large_process(nodes: usize) -> String {
    let mut sem = String::new();
    let mut di = String::new();
    let mut flow = 0usize;
    let mut prev = "start".to_string();
    let _ = write!(
        sem,
        "    <bpmn:startEvent id=\"start\" name=\"Start\">\n      <bpmn:outgoing>f{flow}</bpmn:outgoing>\n    </bpmn:startEvent>\n"
    );
    shape(&mut di, "start", 0, 36);
    let mut i = 1;
    let mut x = 1;
    while i < nodes.saturating_sub(1) {
        let id = format!("n{i}");
        if i % 10 == 0 && i + 3 < nodes {
            // A split/join diamond with two conditioned branches.
            let (split, a, b, join) = (
                format!("n{i}"),
                format!("n{}", i + 1),
                format!("n{}", i + 2),
                format!("n{}", i + 3),
            );
            let (fin, fa, fb, fa2, fb2) = (flow, flow + 1, flow + 2, flow + 3, flow + 4);
            let _ = write!(
                sem,
                "    <bpmn:exclusiveGateway id=\"{split}\" default=\"f{fb}\">\n      <bpmn:incoming>f{fin}</bpmn:incoming>\n      <bpmn:outgoing>f{fa}</bpmn:outgoing>\n      <bpmn:outgoing>f{fb}</bpmn:outgoing>\n    </bpmn:exclusiveGateway>\n"
            );
            seq(
                &mut sem,
                &mut di,
                fin,
                &prev,
                &split,
                Some("=amount &gt; 1000"),
                x,
            );
            seq(
                &mut sem,
                &mut di,
                fa,
                &split,
                &a,
                Some("=amount &gt; 100"),
                x + 1,
            );
            seq(&mut sem, &mut di, fb, &split, &b, None, x + 1);
            for (t, fi, fo) in [(&a, fa, fa2), (&b, fb, fb2)] {
                let _ = write!(
                    sem,
                    "    <bpmn:userTask id=\"{t}\" name=\"Review {t}\">\n      <bpmn:extensionElements>\n        <zeebe:assignmentDefinition assignee=\"demo\" />\n      </bpmn:extensionElements>\n      <bpmn:incoming>f{fi}</bpmn:incoming>\n      <bpmn:outgoing>f{fo}</bpmn:outgoing>\n    </bpmn:userTask>\n"
                );
            }
            let _ = write!(
                sem,
                "    <bpmn:exclusiveGateway id=\"{join}\">\n      <bpmn:incoming>f{fa2}</bpmn:incoming>\n      <bpmn:incoming>f{fb2}</bpmn:incoming>\n      <bpmn:outgoing>f{}</bpmn:outgoing>\n    </bpmn:exclusiveGateway>\n",
                flow + 5
            );
            seq(&mut sem, &mut di, fa2, &a, &join, None, x + 2);
            seq(&mut sem, &mut di, fb2, &b, &join, None, x + 2);
            shape(&mut di, &split, x, 50);
            shape(&mut di, &a, x + 1, 80);
            shape(&mut di, &b, x + 1, 80);
            shape(&mut di, &join, x + 2, 50);
            flow += 5;
            prev = join;
            i += 4;
            x += 3;
            continue;
        }
        let (tag, ext) = match i % 3 {
            0 => (
                "serviceTask",
                "<zeebe:taskDefinition type=\"charge\" retries=\"3\" />",
            ),
            1 => (
                "scriptTask",
                "<zeebe:script expression=\"=counter + 1\" resultVariable=\"counter\" />",
            ),
            _ => (
                "userTask",
                "<zeebe:assignmentDefinition assignee=\"demo\" />",
            ),
        };
        let _ = write!(
            sem,
            "    <bpmn:{tag} id=\"{id}\" name=\"Step {i}\">\n      <bpmn:extensionElements>\n        {ext}\n      </bpmn:extensionElements>\n      <bpmn:incoming>f{flow}</bpmn:incoming>\n      <bpmn:outgoing>f{}</bpmn:outgoing>\n    </bpmn:{tag}>\n",
            flow + 1
        );
        seq(&mut sem, &mut di, flow, &prev, &id, None, x);
        shape(&mut di, &id, x, 80);
        flow += 1;
        prev = id;
        i += 1;
        x += 1;
    }
    let _ = write!(
        sem,
        "    <bpmn:endEvent id=\"end\" name=\"End\">\n      <bpmn:incoming>f{flow}</bpmn:incoming>\n    </bpmn:endEvent>\n"
    );
    seq(&mut sem, &mut di, flow, &prev, "end", None, x);
    shape(&mut di, "end", x, 36);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<bpmn:definitions xmlns:bpmn=\"http://www.omg.org/spec/BPMN/20100524/MODEL\" xmlns:bpmndi=\"http://www.omg.org/spec/BPMN/20100524/DI\" xmlns:dc=\"http://www.omg.org/spec/DD/20100524/DC\" xmlns:di=\"http://www.omg.org/spec/DD/20100524/DI\" xmlns:zeebe=\"http://camunda.org/schema/zeebe/1.0\" xmlns:modeler=\"http://camunda.org/schema/modeler/1.0\" id=\"Definitions_large\" targetNamespace=\"http://bpmn.io/schema/bpmn\" exporter=\"orchid-bpmn synth\" exporterVersion=\"1\" modeler:executionPlatform=\"Camunda Cloud\" modeler:executionPlatformVersion=\"8.6.0\">\n  <bpmn:process id=\"Large\" isExecutable=\"true\">\n{sem}  </bpmn:process>\n  <bpmndi:BPMNDiagram id=\"BPMNDiagram_1\">\n    <bpmndi:BPMNPlane id=\"BPMNPlane_1\" bpmnElement=\"Large\">\n{di}    </bpmndi:BPMNPlane>\n  </bpmndi:BPMNDiagram>\n</bpmn:definitions>\n"
    )
}

fn seq(
    sem: &mut String,
    di: &mut String,
    n: usize,
    from: &str,
    to: &str,
    cond: Option<&str>,
    x: usize,
) {
    match cond {
        Some(c) => {
            let _ = write!(
                sem,
                "    <bpmn:sequenceFlow id=\"f{n}\" sourceRef=\"{from}\" targetRef=\"{to}\">\n      <bpmn:conditionExpression xsi:type=\"bpmn:tFormalExpression\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">{c}</bpmn:conditionExpression>\n    </bpmn:sequenceFlow>\n"
            );
        }
        None => {
            let _ = writeln!(
                sem,
                "    <bpmn:sequenceFlow id=\"f{n}\" sourceRef=\"{from}\" targetRef=\"{to}\" />"
            );
        }
    }
    let (x0, x1) = (x * 150 - 50, x * 150 + 100);
    let _ = write!(
        di,
        "      <bpmndi:BPMNEdge id=\"f{n}_di\" bpmnElement=\"f{n}\">\n        <di:waypoint x=\"{x0}\" y=\"120\" />\n        <di:waypoint x=\"{}\" y=\"120\" />\n        <di:waypoint x=\"{x1}\" y=\"120\" />\n      </bpmndi:BPMNEdge>\n",
        (x0 + x1) / 2
    );
}

fn shape(di: &mut String, id: &str, x: usize, size: usize) {
    let _ = write!(
        di,
        "      <bpmndi:BPMNShape id=\"{id}_di\" bpmnElement=\"{id}\">\n        <dc:Bounds x=\"{}\" y=\"{}\" width=\"{size}\" height=\"{}\" />\n        <bpmndi:BPMNLabel>\n          <dc:Bounds x=\"{}\" y=\"160\" width=\"60\" height=\"14\" />\n        </bpmndi:BPMNLabel>\n      </bpmndi:BPMNShape>\n",
        x * 150,
        120 - size / 2,
        size.min(80),
        x * 150
    );
}
