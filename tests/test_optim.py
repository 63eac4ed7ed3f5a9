"""convscope.optim against torch.optim (torch is a test-only reference)."""

import io
import itertools
import json

import numpy as np
import pytest
import torch

from convscope import Tensor
from convscope import optim

SHAPES = [(3, 4), (5,), (2, 3, 2)]
TOL = {np.float32: dict(rtol=2e-6, atol=2e-7), np.float64: dict(rtol=1e-12, atol=1e-14)}


# -- helpers ---------------------------------------------------------------------------------
def make_params(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]


def make_grads(dtype, steps, seed=1):
    """One list of gradients per step; some are None (that parameter is skipped)."""
    rng = np.random.default_rng(seed)
    return [[None if (k + i) % 4 == 3 else rng.standard_normal(s).astype(dtype)
             for i, s in enumerate(SHAPES)] for k in range(steps)]


def split_groups(params):
    """Two parameter groups, the second with its own learning rate."""
    return [{"params": params[:2]}, {"params": params[2:], "lr": 0.03}]


def ours_and_torch(name, arrays, kwargs, groups=False):
    ours = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    opt = getattr(optim, name)(split_groups(ours) if groups else ours, **kwargs)
    ref = getattr(torch.optim, name)(split_groups(theirs) if groups else theirs,
                                     foreach=False, **kwargs)
    return ours, opt, theirs, ref


def set_grads(ours, theirs, grads):
    for p, q, g in zip(ours, theirs, grads):
        p.grad = None if g is None else g.copy()
        if q is not None:
            q.grad = None if g is None else torch.from_numpy(g.copy())


def assert_params_close(ours, theirs, dtype, step):
    for i, (p, q) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(p.data, q.detach().numpy(), **TOL[dtype],
                                   err_msg=f"parameter {i} after step {step}")


def json_npz_roundtrip(state_dict):
    """Write a state dict as npz arrays + JSON, with no pickle allowed, and read it back."""
    arrays = {}

    def strip(value):
        if isinstance(value, np.ndarray):
            key = f"a{len(arrays)}"
            arrays[key] = value
            return {"__array__": key}
        if isinstance(value, dict):
            return {str(k): strip(v) for k, v in value.items()}
        if isinstance(value, list):
            return [strip(v) for v in value]
        assert value is None or isinstance(value, (bool, int, float, str)), type(value)
        return value

    text = json.dumps(strip(state_dict))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as npz:
        loaded = {k: npz[k] for k in npz.files}

    def restore(value):
        if isinstance(value, dict):
            if set(value) == {"__array__"}:
                return loaded[value["__array__"]]
            return {k: restore(v) for k, v in value.items()}
        if isinstance(value, list):
            return [restore(v) for v in value]
        return value

    return restore(json.loads(text))


# -- optimizers against torch ----------------------------------------------------------------
SGD_CASES = [
    dict(lr=0.1, momentum=m, dampening=d, nesterov=n, weight_decay=wd, maximize=mx)
    for m, d, n, wd, mx in itertools.product([0, 0.9], [0, 0.3], [False, True], [0, 0.05],
                                             [False, True])
    if not (n and (m == 0 or d != 0)) and not (m == 0 and d != 0)
]
ADAM_CASES = [
    dict(lr=0.05, betas=b, weight_decay=wd, amsgrad=a, maximize=mx)
    for b, wd, a, mx in itertools.product([(0.9, 0.999), (0.3, 0.9)], [0, 0.1],
                                          [False, True], [False, True])
]
OPT_CASES = ([("SGD", kw) for kw in SGD_CASES] + [("Adam", kw) for kw in ADAM_CASES]
             + [("AdamW", kw) for kw in ADAM_CASES])


def case_id(case):
    name, kw = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in kw.items())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", OPT_CASES, ids=[case_id(c) for c in OPT_CASES])
def test_optimizer_matches_torch(case, dtype):
    name, kwargs = case
    ours, opt, theirs, ref = ours_and_torch(name, make_params(dtype), kwargs)
    arrays = [p.data for p in ours]
    for k, grads in enumerate(make_grads(dtype, 10)):
        set_grads(ours, theirs, grads)
        opt.step()
        ref.step()
        assert_params_close(ours, theirs, dtype, k)
    # updated in place: other references to the arrays see the update
    assert all(p.data is a for p, a in zip(ours, arrays))
    assert all(p.data.dtype == dtype for p in ours)
    # the state has torch's names, values and indexing
    mine, torch_sd = opt.state_dict(), ref.state_dict()
    assert sorted(mine["state"]) == sorted(torch_sd["state"])
    for i, state in torch_sd["state"].items():
        assert sorted(mine["state"][i]) == sorted(state)
        for key, value in state.items():
            np.testing.assert_allclose(mine["state"][i][key], value.numpy(), rtol=1e-5,
                                       err_msg=f"state {key} of parameter {i}")


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_param_groups_match_torch(name):
    kwargs = dict(lr=0.1, momentum=0.9) if name == "SGD" else dict(lr=0.1)
    ours, opt, theirs, ref = ours_and_torch(name, make_params(np.float64), kwargs, groups=True)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.03]
    for k, grads in enumerate(make_grads(np.float64, 6)):
        set_grads(ours, theirs, grads)
        opt.step()
        ref.step()
        assert_params_close(ours, theirs, np.float64, k)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                                  ("SGD", dict(lr=0.1)),
                                  ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
                                  ("AdamW", dict(lr=0.05, betas=(0.8, 0.99)))],
                         ids=case_id)
def test_optimizer_resume(case, dtype):
    """state_dict after 5 steps, through npz + JSON, into a fresh optimizer: same result."""
    name, kwargs = case
    ours, opt, theirs, ref = ours_and_torch(name, make_params(dtype), kwargs, groups=True)
    all_grads = make_grads(dtype, 10)
    for grads in all_grads[:5]:
        set_grads(ours, theirs, grads)
        opt.step()
        ref.step()
    saved = json_npz_roundtrip(opt.state_dict())
    copies = [Tensor(p.data.copy(), requires_grad=True) for p in ours]
    fresh = getattr(optim, name)(split_groups(copies), lr=1.0)  # hyper-parameters come back
    fresh.load_state_dict(saved)
    assert fresh.param_groups[1]["lr"] == 0.03
    if "betas" in kwargs:
        assert fresh.param_groups[0]["betas"] == kwargs["betas"]
    for k, grads in enumerate(all_grads[5:], 5):
        set_grads(ours, theirs, grads)
        set_grads(copies, [None] * len(copies), grads)
        opt.step()
        ref.step()
        fresh.step()
        assert_params_close(ours, theirs, dtype, k)
        for p, q in zip(ours, copies):
            np.testing.assert_array_equal(p.data, q.data)


def test_state_dict_layout():
    params = [Tensor(a) for a in make_params(np.float64)]
    opt = optim.SGD(split_groups(params), lr=0.1, momentum=0.9)
    params[0].grad = np.ones(SHAPES[0])
    params[2].grad = np.ones(SHAPES[2])
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sorted(sd["state"]) == [0, 2]  # no state for the parameter without a gradient
    assert sd["param_groups"][1] == dict(lr=0.03, momentum=0.9, dampening=0, weight_decay=0,
                                         nesterov=False, maximize=False, params=[2])
    adam = optim.Adam(params)
    assert adam.state_dict()["param_groups"][0]["betas"] == [0.9, 0.999]  # JSON-ready


def test_load_state_dict_errors():
    params = [Tensor(a) for a in make_params(np.float64)]
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    for p in params:
        p.grad = np.ones_like(p.data)
    opt.step()
    sd = opt.state_dict()
    other = optim.SGD(split_groups([Tensor(a) for a in make_params(np.float64)]))
    with pytest.raises(ValueError, match="state dict has 1 parameter groups, the optimizer "
                                         "has 2"):
        other.load_state_dict(sd)
    with pytest.raises(ValueError, match="parameter group 0 has 3 parameters in the state "
                                         "dict, 2 in the optimizer"):
        optim.SGD([Tensor(a) for a in make_params(np.float64)[:2]]).load_state_dict(sd)
    swapped = optim.SGD([Tensor(np.zeros(s)) for s in reversed(SHAPES)])
    with pytest.raises(ValueError, match=r"state 'momentum_buffer' of parameter 0 has shape "
                                         r"\(3, 4\), the parameter has shape \(2, 3, 2\)"):
        swapped.load_state_dict(sd)
    # the arrays are copied and cast to the parameter's dtype
    single = optim.SGD([Tensor(a.astype(np.float32)) for a in make_params(np.float64)])
    single.load_state_dict(sd)
    buf = single.state_dict()["state"][0]["momentum_buffer"]
    assert buf.dtype == np.float32 and buf is not sd["state"][0]["momentum_buffer"]


def test_zero_grad():
    params = [Tensor(np.ones(3)), Tensor(np.ones(2))]
    opt = optim.SGD(params, lr=0.1)
    grad = np.full(3, 2.0)
    params[0].grad = grad
    opt.zero_grad(set_to_none=False)
    assert params[0].grad is grad and not grad.any()  # zeroed in place
    assert params[1].grad is None
    opt.zero_grad()
    assert params[0].grad is None
    opt.step()  # no gradients: nothing changes
    np.testing.assert_array_equal(params[0].data, np.ones(3))


def test_step_closure_and_add_param_group():
    w = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    b = Tensor(np.array([0.5]), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    opt.add_param_group({"params": b, "lr": 1.0})
    assert opt.param_groups[1]["momentum"] == 0  # defaults filled in

    def closure():
        opt.zero_grad()
        loss = (w * w).sum() + (b * b).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == pytest.approx(5.25)
    np.testing.assert_allclose(w.data, [0.8, -1.6])  # w - 0.1 * 2w
    np.testing.assert_allclose(b.data, [-0.5])       # b - 1.0 * 2b


# -- schedulers against torch ----------------------------------------------------------------
def optimizer_pair(name, lrs=(0.1, 0.02), **kwargs):
    """Our optimizer and torch's over two parameter groups with the given learning rates."""
    ours = getattr(optim, name)([{"params": [Tensor(np.zeros(2))], "lr": lr} for lr in lrs],
                                **kwargs)
    ref = getattr(torch.optim, name)([{"params": [torch.zeros(2)], "lr": lr} for lr in lrs],
                                     **kwargs)
    return ours, ref


def group_values(optimizer):
    """What a scheduler sets: each group's lr and momentum (SGD) or beta1 (Adam)."""
    out = []
    for g in optimizer.param_groups:
        momentum = g["betas"][0] if "betas" in g else g.get("momentum")
        out.append((g["lr"], momentum))
    return out


def assert_schedule_close(ours, ref, opt, ref_opt, epoch):
    np.testing.assert_allclose(ours.get_last_lr(), ref.get_last_lr(), rtol=1e-12, atol=1e-16,
                               err_msg=f"lr after {epoch} steps")
    np.testing.assert_allclose(np.array(group_values(opt), dtype=float),
                               np.array(group_values(ref_opt), dtype=float),
                               rtol=1e-12, atol=1e-16, err_msg=f"groups after {epoch} steps")
    assert ours.last_epoch == ref.last_epoch == epoch


SCHEDULERS = [
    ("StepLR", "SGD", dict(step_size=3, gamma=0.5), 20),
    ("StepLR", "Adam", dict(step_size=1), 6),
    ("CosineAnnealingLR", "SGD", dict(T_max=10, eta_min=0.001), 45),
    ("CosineAnnealingLR", "Adam", dict(T_max=7), 30),
    ("OneCycleLR", "SGD", dict(max_lr=1.0, total_steps=25), 25),
    ("OneCycleLR", "SGD", dict(max_lr=[1.0, 0.5], epochs=4, steps_per_epoch=6,
                               anneal_strategy="linear", base_momentum=[0.8, 0.7]), 24),
    ("OneCycleLR", "Adam", dict(max_lr=0.01, total_steps=30, three_phase=True,
                                pct_start=0.25), 30),
    ("OneCycleLR", "Adam", dict(max_lr=0.01, total_steps=12, cycle_momentum=False,
                                div_factor=10.0, final_div_factor=100.0), 12),
]


def scheduler_id(case):
    return f"{case[0]}-{case[1]}-" + ",".join(f"{k}={v}" for k, v in case[2].items())


def scheduler_pair(name, opt_name, kwargs, lrs=(0.1, 0.02)):
    """(our optimizer, our scheduler `name`, torch's optimizer, torch's scheduler)."""
    opt_kwargs = dict(momentum=0.9) if opt_name == "SGD" else {}
    opt, ref_opt = optimizer_pair(opt_name, lrs, **opt_kwargs)
    return (opt, getattr(optim, name)(opt, **kwargs),
            ref_opt, getattr(torch.optim.lr_scheduler, name)(ref_opt, **kwargs))


def step_all(*pairs):
    """One training step: each (optimizer, scheduler) pair steps its optimizer, then its
    scheduler."""
    for opt, sched in pairs:
        opt.step()
        sched.step()


@pytest.mark.parametrize("case", SCHEDULERS, ids=[scheduler_id(c) for c in SCHEDULERS])
def test_scheduler_matches_torch(case):
    name, opt_name, kwargs, steps = case
    opt, sched, ref_opt, ref = scheduler_pair(name, opt_name, kwargs)
    for key in ("initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"):
        assert [g.get(key) for g in opt.param_groups] == [g.get(key) for g in ref_opt.param_groups]
    assert_schedule_close(sched, ref, opt, ref_opt, 0)
    for epoch in range(1, steps + 1):
        step_all((opt, sched), (ref_opt, ref))
        assert_schedule_close(sched, ref, opt, ref_opt, epoch)


@pytest.mark.parametrize("case", SCHEDULERS, ids=[scheduler_id(c) for c in SCHEDULERS])
def test_scheduler_resume(case):
    """Optimizer and scheduler state dicts mid-way, through JSON, continue the same schedule."""
    name, opt_name, kwargs, steps = case
    opt, sched, ref_opt, ref = scheduler_pair(name, opt_name, kwargs)
    half = steps // 2
    for _ in range(half):
        step_all((opt, sched), (ref_opt, ref))
    opt_sd = json_npz_roundtrip(opt.state_dict())
    sched_sd = json.loads(json.dumps(sched.state_dict()))  # plain numbers only

    new_opt, new_sched, _, _ = scheduler_pair(name, opt_name, kwargs, lrs=(0.5, 0.5))
    new_opt.load_state_dict(opt_sd)
    new_sched.load_state_dict(sched_sd)
    assert new_sched.get_last_lr() == sched.get_last_lr()
    for epoch in range(half + 1, steps + 1):
        step_all((new_opt, new_sched), (ref_opt, ref))
        assert_schedule_close(new_sched, ref, new_opt, ref_opt, epoch)


def test_one_cycle_past_total_steps():
    opt, ref_opt = optimizer_pair("SGD", momentum=0.9)
    sched = optim.OneCycleLR(opt, max_lr=1.0, total_steps=4)
    ref = torch.optim.lr_scheduler.OneCycleLR(ref_opt, max_lr=1.0, total_steps=4)
    for _ in range(4):  # torch allows total_steps calls after creation
        step_all((opt, sched), (ref_opt, ref))
    with pytest.raises(ValueError, match="Tried to step 5 times"):
        ref.step()
    with pytest.raises(ValueError, match=r"OneCycleLR: tried to step 5 times, more than "
                                         r"total_steps=4"):
        sched.step()


# -- errors ----------------------------------------------------------------------------------
def _p():
    return [Tensor(np.zeros(2))]


def _sgd():
    return optim.SGD(_p(), lr=0.1)


BAD_CALLS = [
    (lambda: optim.SGD(_p(), lr=-0.1), ValueError, r"SGD: lr=-0\.1 must be >= 0"),
    (lambda: optim.SGD(_p(), momentum=-0.5), ValueError, r"SGD: momentum=-0\.5 must be >= 0"),
    (lambda: optim.SGD(_p(), weight_decay=-1), ValueError, "SGD: weight_decay=-1 must be >= 0"),
    (lambda: optim.SGD(_p(), nesterov=True), ValueError,
     r"SGD: nesterov=True needs momentum > 0 and dampening=0, got momentum=0, dampening=0"),
    (lambda: optim.SGD(_p(), momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     r"SGD: nesterov=True needs .* got momentum=0\.9, dampening=0\.1"),
    (lambda: optim.SGD(_p(), lr="0.1"), TypeError, "SGD: lr must be a real number, got lr='0.1'"),
    (lambda: optim.SGD([], lr=0.1), ValueError, "SGD: got an empty parameter list"),
    (lambda: optim.SGD([Tensor(np.zeros(2)), np.zeros(2)]), TypeError,
     "SGD.add_param_group: every parameter must be a convscope.Tensor, got ndarray at "
     "position 1"),
    (lambda: optim.SGD(Tensor(np.zeros(2))), TypeError,
     "SGD: params must be an iterable of Tensors or of dicts, got a single Tensor"),
    (lambda: optim.SGD(3), TypeError, "SGD: params must be an iterable .* got int"),
    (lambda: optim.SGD([{"params": set(_p())}]), TypeError,
     "SGD.add_param_group: params must be an ordered iterable"),
    (lambda: optim.SGD([{"lr": 0.1}]), ValueError,
     r"SGD.add_param_group: a parameter group needs a 'params' entry, got keys \['lr'\]"),
    (lambda: optim.SGD(_p() * 2), ValueError, "holds the same Tensor twice"),
    (lambda: optim.SGD([{"params": _p()}, {"params": _p(), "lr": -1}]), ValueError,
     "SGD: lr=-1 must be >= 0"),
    (lambda: optim.Adam(_p(), lr=-1e-3), ValueError, r"Adam: lr=-0\.001 must be >= 0"),
    (lambda: optim.Adam(_p(), eps=-1.0), ValueError, r"Adam: eps=-1\.0 must be >= 0"),
    (lambda: optim.Adam(_p(), betas=(1.0, 0.999)), ValueError,
     r"Adam: betas\[0\]=1\.0 must be in \[0, 1\)"),
    (lambda: optim.Adam(_p(), betas=(0.9, -0.1)), ValueError,
     r"Adam: betas\[1\]=-0\.1 must be in \[0, 1\)"),
    (lambda: optim.Adam(_p(), betas=0.9), TypeError,
     r"Adam: betas must be a pair \(beta1, beta2\), got 0\.9"),
    (lambda: optim.Adam(_p(), weight_decay=-0.1), ValueError,
     r"Adam: weight_decay=-0\.1 must be >= 0"),
    (lambda: optim.AdamW(_p(), betas=(0.9, 1.5)), ValueError,
     r"AdamW: betas\[1\]=1\.5 must be in \[0, 1\)"),
    (lambda: optim.StepLR(_sgd(), step_size=0), ValueError,
     "StepLR: step_size must be positive, got step_size=0"),
    (lambda: optim.StepLR(object(), step_size=1), TypeError,
     "StepLR: optimizer must be a convscope.optim.Optimizer, got object"),
    (lambda: optim.CosineAnnealingLR(_sgd(), T_max=2.5), TypeError,
     "CosineAnnealingLR: T_max must be an int, got T_max=2.5"),
    (lambda: optim.OneCycleLR(_sgd(), max_lr=1.0), ValueError,
     "OneCycleLR: give either total_steps or both epochs and steps_per_epoch"),
    (lambda: optim.OneCycleLR(_sgd(), max_lr=1.0, total_steps=-3), ValueError,
     "OneCycleLR: total_steps must be positive, got total_steps=-3"),
    (lambda: optim.OneCycleLR(_sgd(), max_lr=1.0, total_steps=10, pct_start=1.5), ValueError,
     r"OneCycleLR: pct_start=1\.5 must be in \[0, 1\]"),
    (lambda: optim.OneCycleLR(_sgd(), max_lr=1.0, total_steps=10, anneal_strategy="exp"),
     ValueError, "OneCycleLR: anneal_strategy must be 'cos' or 'linear', got anneal_strategy='exp'"),
    (lambda: optim.OneCycleLR(_sgd(), max_lr=[1.0, 2.0], total_steps=10), ValueError,
     "OneCycleLR: max_lr has 2 values, the optimizer has 1 parameter groups"),
    (lambda: optim.StepLR(_sgd(), step_size=2, last_epoch=3), ValueError,
     r"StepLR: last_epoch=3 resumes a schedule, but param_groups\[0\] has no 'initial_lr'"),
]


@pytest.mark.parametrize("call, exc, match", BAD_CALLS)
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_parameter_in_two_groups():
    params = _p()
    opt = optim.SGD(params)
    with pytest.raises(ValueError, match="SGD.add_param_group: some parameters appear in more "
                                         "than one parameter group"):
        opt.add_param_group({"params": params})


def test_grad_shape_mismatch():
    p = Tensor(np.zeros((2, 3)))
    p.grad = np.zeros(3)
    with pytest.raises(ValueError, match=r"SGD.step: gradient of shape \(3,\) does not match "
                                         r"its parameter of shape \(2, 3\)"):
        optim.SGD([p]).step()


# -- damaged state dicts: a clear error at load time, never an AttributeError at step() -----

def _adam():
    opt = optim.Adam([Tensor(np.zeros((2, 3)), requires_grad=True)], lr=0.1)
    opt.param_groups[0]["params"][0].grad = np.ones((2, 3))
    opt.step()
    return opt


def _with(state, path, value):
    """A deep copy of `state` with the item at `path` replaced (or deleted if value is ...)."""
    import copy
    out = copy.deepcopy(state)
    target = out
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return out


OPTIMIZER_STATES = [
    ({}, ValueError, r"Adam.load_state_dict: the state dict has no 'state' or 'param_groups'"),
    ([], TypeError, r"Adam.load_state_dict: state_dict must be a dict"),
    ((("param_groups",), "x"), ValueError, r"param_groups must be a list of dicts"),
    ((("param_groups", 0, "params"), ...), ValueError,
     r"param_groups\[0\] must be a dict with a 'params' list"),
    ((("param_groups", 0, "params"), ["a"]), ValueError, r"must list parameter indices"),
    ((("param_groups", 0, "betas"), ...), ValueError, r"param_groups\[0\] lacks \['betas'\]"),
    ((("param_groups", 0, "lr"), "fast"), TypeError, r"Adam: lr must be a real number"),
    ((("state", 0, "exp_avg"), [1.0]), ValueError,
     r"state\[0\]\['exp_avg'\] must be an array, got list"),
    ((("state", 0, "exp_avg"), np.zeros(4)), ValueError,
     r"state 'exp_avg' of parameter 0 has shape \(4,\), the parameter has shape \(2, 3\)"),
    ((("state", 0, "step"), "3"), ValueError, r"state\[0\]\['step'\] must be a non-negative int"),
    ((("state", 0, "momentum_buffer"), np.zeros((2, 3))), ValueError,
     r"holds 'momentum_buffer', which Adam does not keep"),
    ((("state", 7), {}), ValueError, r"state\[7\] must be a dict under a parameter index"),
]


@pytest.mark.parametrize("change,exc,pattern", OPTIMIZER_STATES)
def test_damaged_optimizer_state_is_refused(change, exc, pattern):
    good = _adam().state_dict()
    damaged = _with(good, *change) if isinstance(change, tuple) else change
    opt = _adam()
    with pytest.raises(exc, match=pattern):
        opt.load_state_dict(damaged)
    opt.load_state_dict(good)   # the good one still loads, and the optimizer still steps
    opt.step()


SCHEDULER_STATES = [
    ("junk", TypeError, r"StepLR.load_state_dict: state_dict must be a dict"),
    ({"junk": 1, "last_epoch": 2}, ValueError,
     r"StepLR.load_state_dict: the state dict does not fit StepLR: missing keys "
     r"\['_last_lr', '_step_count', 'base_lrs', 'gamma', 'step_size'\], unexpected keys "
     r"\['junk'\]"),
    ((("last_epoch",), "x"), ValueError, r"StepLR.load_state_dict: last_epoch must be a number"),
    ((("last_epoch",), 2.5), ValueError, r"last_epoch must be an int, got 2.5"),
    ((("base_lrs",), [0.1, 0.2]), ValueError, r"base_lrs must be a list of 1 values"),
    ((("gamma",), None), ValueError, r"gamma must be a number, got None"),
]


@pytest.mark.parametrize("change,exc,pattern", SCHEDULER_STATES)
def test_damaged_scheduler_state_is_refused(change, exc, pattern):
    sched = optim.StepLR(_sgd(), step_size=2)
    good = sched.state_dict()
    damaged = _with(good, *change) if isinstance(change, tuple) else change
    with pytest.raises(exc, match=pattern):
        sched.load_state_dict(damaged)
    sched.load_state_dict(good)
    sched.step()


@pytest.mark.parametrize("call,exc,pattern", [
    (lambda: optim.OneCycleLR(_sgd(), max_lr=None, total_steps=3), TypeError,
     r"OneCycleLR: max_lr must be a real number, got max_lr=None"),
    (lambda: optim.OneCycleLR(_sgd(), max_lr=0.0, total_steps=3), ValueError,
     r"OneCycleLR: max_lr=0.0 must be > 0"),
    (lambda: optim.OneCycleLR(optim.SGD(_p(), lr=0.1, momentum=0.9), max_lr=0.1,
                              total_steps=3, base_momentum="low"), TypeError,
     r"OneCycleLR: base_momentum must be a real number"),
    (lambda: optim.OneCycleLR(_sgd(), max_lr=0.1, total_steps=3, three_phase="yes"),
     TypeError, r"OneCycleLR: three_phase must be a bool"),
    (lambda: optim.StepLR(_sgd(), 2, last_epoch="x"), TypeError,
     r"StepLR: last_epoch must be an int, got last_epoch='x'"),
    (lambda: optim.CosineAnnealingLR(_sgd(), 2, last_epoch=-2), ValueError,
     r"CosineAnnealingLR: last_epoch must be >= -1"),
    (lambda: optim.SGD(_p(), lr=0.1, momentum=0.9, nesterov=1), TypeError,
     r"SGD: nesterov must be a bool"),
    (lambda: optim.Adam(_p(), amsgrad="no"), TypeError, r"Adam: amsgrad must be a bool"),
])
def test_bad_scheduler_and_optimizer_arguments(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()
