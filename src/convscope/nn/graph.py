"""`Graph`: a model that is a directed acyclic graph of modules — branches, residual
additions, concatenations, one tensor read by several layers — as PyTorch's fx
`GraphModule` or an ONNX graph.

Every node is a `Node(name, module, inputs)`: its module is called on the tensors named by
`inputs` (graph inputs or earlier nodes) and its output tensor takes the node's name.

>>> import numpy as np
>>> from convscope import nn
>>> model = nn.Graph(["x"], [
...     nn.Node("conv", nn.Conv2d(4, 4, 3, padding=1), ("x",)),
...     nn.Node("relu", nn.ReLU(), ("conv",)),
...     nn.Node("add", nn.Add(), ("relu", "x")),       # the residual connection
... ], ["add"])
>>> model(np.zeros((1, 4, 8, 8), np.float32)).shape
(1, 4, 8, 8)
>>> list(model.state_dict())
['conv.weight', 'conv.bias']
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .module import Module

__all__ = ["Node", "Graph"]


class Node(NamedTuple):
    """One layer of a `Graph`: `module(*tensors named by inputs)` is the tensor `name`."""

    name: str
    module: Module
    inputs: tuple


def _safe_name(name: str, taken: set) -> str:
    """`name` as a submodule name: no dots (they separate `state_dict` levels), only
    letters, digits and '_', unique."""
    safe = re.sub(r"\W", "_", name).strip("_") or "node"
    candidate, k = safe, 1
    while candidate in taken:
        k += 1
        candidate = f"{safe}_{k}"
    taken.add(candidate)
    return candidate


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")


def _names(arg: str, value) -> tuple:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise TypeError(f"Graph: {arg} must be a list of names (str), got {value!r}")
    for v in value:
        if not isinstance(v, str) or not v:
            raise TypeError(f"Graph: {arg} must hold non-empty names (str), got {v!r}")
    return tuple(value)


def _topological(nodes: list, known: set) -> list:
    """`nodes` ordered so that each comes after the nodes it reads (stable: nodes already in
    order stay so). A cycle is a ValueError naming its nodes."""
    by_name = {n.name: n for n in nodes}
    order, done, visiting = [], set(known), []

    def visit(node):
        stack = [(node, iter(node.inputs))]
        visiting.append(node.name)
        while stack:
            current, pending = stack[-1]
            for name in pending:
                if name in done:
                    continue
                if name in visiting:
                    cycle = visiting[visiting.index(name):] + [name]
                    raise ValueError("Graph: the nodes form a cycle: "
                                     + " -> ".join(reversed(cycle)))
                visiting.append(name)
                stack.append((by_name[name], iter(by_name[name].inputs)))
                break
            else:
                stack.pop()
                visiting.pop()
                done.add(current.name)
                order.append(current)

    for node in nodes:
        if node.name not in done:
            visit(node)
    return order


class Graph(Module):
    """A directed acyclic graph of modules with named inputs and outputs.

    Args:
        inputs: the names of the graph's input tensors, in the order `forward` takes them.
        nodes: `Node(name, module, inputs)`s in any order (they are sorted topologically);
            names are unique among nodes and inputs.
        outputs: the names of the tensors `forward` returns (nodes or inputs).
        input_shapes: optional, one shape per input (None entries: any size; None for an
            input: anything), e.g. the shapes an ONNX file declares; `forward` then refuses
            an input of another rank by name. Kept as `graph.input_shapes`.

    Each node's module is a submodule. Its attribute name (the prefix of its `state_dict`
    keys, e.g. ``layer1_0_conv1.weight``) is the node's name with every character other
    than a letter, a digit or '_' made '_' (and a suffix `_2`, `_3` ... where two names
    collide): `module_names` maps each node's name to it, and `node_names` back.

    `forward(*inputs)` calls the nodes in order and drops each intermediate tensor after
    its last reader; it returns the output, or a tuple when there are several.
    """

    def __init__(self, inputs, nodes, outputs, input_shapes=None):
        super().__init__()
        inputs = _names("inputs", inputs)
        outputs = _names("outputs", outputs)
        if not inputs:
            raise ValueError("Graph: inputs must name at least one input tensor")
        if not outputs:
            raise ValueError("Graph: outputs must name at least one tensor")
        if not isinstance(nodes, (list, tuple)):
            raise TypeError(f"Graph: nodes must be a list of Node, got {type(nodes).__name__}")
        checked = []
        for i, node in enumerate(nodes):
            if not isinstance(node, tuple) or len(node) != 3:
                raise TypeError(f"Graph: nodes[{i}] must be a Node(name, module, inputs), "
                                f"got {node!r}")
            name, module, node_inputs = node
            if not isinstance(name, str) or not name:
                raise TypeError(f"Graph: nodes[{i}] has name {name!r}; a non-empty str is "
                                f"required")
            if not isinstance(module, Module):
                raise TypeError(f"Graph: node {name!r} has a {type(module).__name__}, not a "
                                f"convscope Module")
            node_inputs = (node_inputs,) if isinstance(node_inputs, str) else node_inputs
            checked.append(Node(name, module, _names(f"the inputs of node {name!r}",
                                                     node_inputs)))
        seen = set()
        for name in list(inputs) + [n.name for n in checked]:
            if name in seen:
                raise ValueError(f"Graph: the name {name!r} is used twice (inputs and node "
                                 f"names must be unique)")
            seen.add(name)
        for node in checked:
            for src in node.inputs:
                if src not in seen:
                    raise ValueError(f"Graph: node {node.name!r} reads {src!r}, which is "
                                     f"neither a graph input nor a node")
        for out in outputs:
            if out not in seen:
                raise ValueError(f"Graph: output {out!r} is neither a graph input nor a node")
        if input_shapes is not None:
            if not isinstance(input_shapes, (list, tuple)) or len(input_shapes) != len(inputs):
                raise ValueError(f"Graph: input_shapes must hold one shape (or None) per "
                                 f"input {list(inputs)}, got {input_shapes!r}")
            input_shapes = tuple(None if s is None else tuple(s) for s in input_shapes)
        object.__setattr__(self, "input_shapes", input_shapes)
        ordered = _topological(checked, set(inputs))
        taken, module_names = set(), {}
        for node in ordered:
            module_names[node.name] = _safe_name(node.name, taken)
            self.add_module(module_names[node.name], node.module)
        object.__setattr__(self, "inputs", inputs)
        object.__setattr__(self, "outputs", outputs)
        object.__setattr__(self, "module_names", module_names)
        object.__setattr__(self, "node_names", {v: k for k, v in module_names.items()})
        object.__setattr__(self, "_ordered_names", tuple(n.name for n in ordered))
        object.__setattr__(self, "_node_inputs", {n.name: n.inputs for n in ordered})
        last_use = {}
        for i, node in enumerate(ordered):
            for src in node.inputs:
                last_use[src] = i
        # tensors that may be dropped after node i: read last there, and not an output
        frees = [[] for _ in ordered]
        for name, i in last_use.items():
            if name not in outputs:
                frees[i].append(name)
        object.__setattr__(self, "_frees", frees)

    @property
    def nodes(self) -> tuple:
        """The `Node`s in topological order (each module as currently registered)."""
        return tuple(Node(name, self._modules[self.module_names[name]], self._node_inputs[name])
                     for name in self._ordered_names)

    def node(self, name: str) -> Node:
        """The node called `name`."""
        if name not in self.module_names:
            raise KeyError(f"Graph: no node named {name!r}")
        return Node(name, self._modules[self.module_names[name]], self._node_inputs[name])

    def consumers(self, name: str) -> tuple:
        """The names of the nodes that read tensor `name`, in order."""
        return tuple(n for n in self._ordered_names if name in self._node_inputs[n])

    def forward(self, *inputs):
        if len(inputs) != len(self.inputs):
            raise TypeError(f"Graph: forward takes {len(self.inputs)} input(s) "
                            f"{list(self.inputs)}, got {len(inputs)}")
        if self.input_shapes is not None:
            for name, shape, value in zip(self.inputs, self.input_shapes, inputs):
                got = getattr(value, "shape", None)
                if shape is not None and got is not None and len(got) != len(shape):
                    want = ", ".join("?" if n is None else str(n) for n in shape)
                    raise ValueError(f"Graph: input {name!r} must have rank {len(shape)} "
                                     f"(shape ({want})), got shape {tuple(got)}")
        values = dict(zip(self.inputs, inputs))
        for i, name in enumerate(self._ordered_names):
            module = self._modules[self.module_names[name]]
            if module is None:
                raise TypeError(f"Graph: node {name!r} has no module (it was set to None)")
            values[name] = module(*(values[src] for src in self._node_inputs[name]))
            for dead in self._frees[i]:
                del values[dead]
        out = tuple(values[name] for name in self.outputs)
        return out[0] if len(out) == 1 else out

    def __repr__(self) -> str:
        lines = [f"({key}): {_indent(repr(m))}" for key, m in self._modules.items()]
        code = [f"graph({', '.join('%' + n for n in self.inputs)}):"]
        for name in self._ordered_names:
            args = ", ".join("%" + s for s in self._node_inputs[name])
            module = self._modules[self.module_names[name]]
            code.append(f"  %{name} = {self.module_names[name]}"
                        f"[{type(module).__name__}]({args})")
        code.append("  return " + ", ".join("%" + n for n in self.outputs))
        body = "\n  ".join(lines + code)
        return f"Graph(\n  {body}\n)"

    @classmethod
    def chain(cls, modules, input_name: str = "input") -> "Graph":
        """The graph of a chain: each module reads the one before (as a `Sequential` of
        `modules`, an iterable of modules or (name, module) pairs)."""
        nodes, previous = [], input_name
        items = modules.named_children() if isinstance(modules, Module) else modules
        for i, item in enumerate(items):
            name, module = item if isinstance(item, tuple) else (str(i), item)
            nodes.append(Node(name, module, (previous,)))
            previous = name
        return cls([input_name], nodes, [previous])
