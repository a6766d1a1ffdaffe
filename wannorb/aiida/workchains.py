"""WorkChains: mesh convergence of the Hall step, and structure → first-principles data → Hall.

Both only orchestrate: every number is made by a calcfunction of :mod:`wannorb.aiida.calculations`
(a WorkChain may return data but not create it), so the provenance graph reads
inputs → calcfunction → outputs at every step, and the WorkChain CALLs and RETURNs them.
"""
from aiida import orm
from aiida.engine import WorkChain, calcfunction, if_, while_

from .calculations import build_system, dft_available, hall
from .nodes import SYSTEM_TYPES, allowed_keys, moved_less_than
from .nodes import component as sigma_component

# defaults of wannorb.api.converge_nk
NK_START = 16
MAX_NK = 128
FACTOR = 2
RTOL = 0.01
COMPONENT = "zxy"


def _hall_keys():
    from .. import api
    return allowed_keys(api.hall)


def validate_converge_parameters(value, _ctx=None):
    """Port validator: hall keyword arguments, without ``nk`` (the WorkChain sets the mesh)."""
    if value is None:
        return None
    allowed = [k for k in _hall_keys() if k != "nk"]
    unknown = sorted(set(value.get_dict()) - set(allowed))
    if unknown:
        return f"unknown parameter(s) {', '.join(unknown)}; allowed: {', '.join(allowed)} (the mesh is nk_start..max_nk)"
    return None


def validate_component(value, _ctx=None):
    text = value.value if value is not None else COMPONENT
    if len(text) != 3 or any(c not in "xyz" for c in text):
        return f"component must be three letters from x, y, z (j, i, k), got {text!r}"
    return None


def _one_line(exc):
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


@calcfunction
def convergence_history(rtol: orm.Float, component: orm.Str, **results):
    """The convergence record of hall results on growing meshes, as ``ConvergenceResult.to_dict()``
    without ``final`` (the WorkChain returns the final result node itself).

    ``results``: the ``result`` Dicts of the steps, labelled ``step_00``, ``step_01``, … in mesh order.
    """
    steps = [results[k].get_dict() for k in sorted(results)]
    comp = component.value
    converged = len(steps) > 1 and moved_less_than(steps[-2], steps[-1], rtol.value, comp)
    methods = list(steps[-1]["sigma"])
    quantities = list(steps[-1]["sigma"][methods[0]])
    return orm.Dict({
        "converged": bool(converged),
        "rtol": rtol.value,
        "component": comp,
        "nk_history": [s["nk"] for s in steps],
        "sigma_history": {m: {q: [sigma_component(s, m, q, comp) for s in steps] for q in quantities}
                          for m in methods},
        "units": {"sigma_history": f"(hbar/e) S/cm, sigma^{comp[0]}_{comp[1:]} at the first mu"},
        "hall_results": [results[k].uuid for k in sorted(results)],
    })



class ConvergeWorkChain(WorkChain):
    """``wannorb.hall`` on meshes nk_start, factor·nk_start, … until every method × quantity
    component moves by < rtol (the rule of :func:`wannorb.api.converge_nk`) or max_nk is passed.

    Outputs ``result``/``sigma`` of the last mesh and ``convergence`` (the history). Not converged
    by max_nk: the outputs are still attached and the exit status is 401.
    """

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input("system", valid_type=SYSTEM_TYPES,
                   help="FolderData/SinglefileData of a saved system, or Str/Dict naming a built-in model")
        spec.input("parameters", valid_type=orm.Dict, required=False, validator=validate_converge_parameters,
                   help="wannorb.api.hall keyword arguments except nk (mu or filling, kT, methods, ...)")
        spec.input("nk_start", valid_type=orm.Int, default=lambda: orm.Int(NK_START),
                   validator=lambda v, _: None if v.value >= 1 else "nk_start must be >= 1")
        spec.input("max_nk", valid_type=orm.Int, default=lambda: orm.Int(MAX_NK))
        spec.input("factor", valid_type=orm.Int, default=lambda: orm.Int(FACTOR),
                   validator=lambda v, _: None if v.value >= 2 else "factor must be >= 2")
        spec.input("rtol", valid_type=orm.Float, default=lambda: orm.Float(RTOL),
                   validator=lambda v, _: None if v.value > 0 else "rtol must be > 0")
        spec.input("component", valid_type=orm.Str, default=lambda: orm.Str(COMPONENT),
                   validator=validate_component, help="σ^j_ik letters j, i, k (default zxy)")
        spec.inputs.validator = cls._validate_meshes
        spec.outline(
            cls.setup,
            while_(cls.should_run_next)(cls.run_hall, cls.inspect_hall),
            cls.finalize,
        )
        spec.output("result", valid_type=orm.Dict, help="hall result JSON on the last mesh")
        spec.output("sigma", valid_type=orm.ArrayData, help="σ arrays on the last mesh, (ħ/e) S/cm")
        spec.output("convergence", valid_type=orm.Dict, help="nk and σ component per step, converged flag")
        spec.exit_code(301, "ERROR_HALL_FAILED", message="the hall step on nk={nk} failed: {message}")
        spec.exit_code(401, "ERROR_NOT_CONVERGED",
                       message="not converged to rtol={rtol} by nk={nk} (outputs attached)")

    @staticmethod
    def _validate_meshes(inputs, _ctx=None):
        if "nk_start" in inputs and "max_nk" in inputs and inputs["max_nk"].value < inputs["nk_start"].value:
            return "max_nk must be >= nk_start"
        return None

    def setup(self):
        self.ctx.nk = self.inputs.nk_start.value
        self.ctx.results = []          # result Dict nodes, in mesh order
        self.ctx.sigmas = []
        self.ctx.converged = False

    def should_run_next(self):
        return not self.ctx.converged and self.ctx.nk <= self.inputs.max_nk.value

    def run_hall(self):
        params = self.inputs.parameters.get_dict() if "parameters" in self.inputs else {}
        params["nk"] = self.ctx.nk
        try:
            outputs, node = hall.run_get_node(system=self.inputs.system, parameters=orm.Dict(params))
        except Exception as exc:  # noqa: BLE001 - the hall node keeps the traceback (excepted)
            return self.exit_codes.ERROR_HALL_FAILED.format(nk=str(self.ctx.nk), message=_one_line(exc))
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_HALL_FAILED.format(nk=str(self.ctx.nk), message=str(node.exit_message))
        self.report(f"nk={self.ctx.nk}: hall<{node.pk}> "
                    + ", ".join(f"{m}/{q} {sigma_component(outputs['result'].get_dict(), m, q, self.inputs.component.value):.6g}"
                                for m in outputs["result"]["sigma"] for q in outputs["result"]["sigma"][m]))
        self.ctx.results.append(outputs["result"])
        self.ctx.sigmas.append(outputs["sigma"])
        return None

    def inspect_hall(self):
        if len(self.ctx.results) > 1:
            old, new = (r.get_dict() for r in self.ctx.results[-2:])
            self.ctx.converged = moved_less_than(old, new, self.inputs.rtol.value, self.inputs.component.value)
        if not self.ctx.converged:
            self.ctx.nk *= self.inputs.factor.value

    def finalize(self):
        results = {f"step_{i:02d}": r for i, r in enumerate(self.ctx.results)}
        history = convergence_history(rtol=self.inputs.rtol, component=self.inputs.component, **results)
        self.out("result", self.ctx.results[-1])
        self.out("sigma", self.ctx.sigmas[-1])
        self.out("convergence", history)
        if not history["converged"]:
            return self.exit_codes.ERROR_NOT_CONVERGED.format(rtol=str(self.inputs.rtol.value),
                                                              nk=str(self.ctx.results[-1]["nk"]))
        return None


class FromStructureWorkChain(WorkChain):
    """A structure → first-principles Wannier data (``wannorb.build_system``: GPAW, imported only
    when it runs) → the Hall step: one ``wannorb.hall`` with ``parameters``, or the
    ``wannorb.converge`` WorkChain when the ``converge`` namespace is given.

    Without GPAW the WorkChain ends with exit status 320 before doing anything.
    """

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input("structure", valid_type=orm.StructureData)
        spec.input("element", valid_type=orm.Str, required=False,
                   help="settings of workflows/materials.py to use (default: the single element)")
        spec.input("coarse", valid_type=orm.Bool, default=lambda: orm.Bool(False),
                   help="the pipeline's quick smoke-test settings")
        spec.input("parameters", valid_type=orm.Dict, required=False,
                   help="wannorb.api.hall keyword arguments (default: mu = E_F of the data, nk = 32); "
                        "without nk when converging")
        spec.expose_inputs(ConvergeWorkChain, namespace="converge", exclude=("system", "parameters"),
                           namespace_options={"required": False, "populate_defaults": False,
                                              "help": "give (even empty) to converge the mesh instead of one hall"})
        spec.outline(
            cls.check_dft,
            cls.build,
            if_(cls.should_converge)(cls.run_converge).else_(cls.run_hall),
            cls.finalize,
        )
        spec.output("system", valid_type=orm.FolderData, help="the data folder the pipeline wrote")
        spec.output("provenance", valid_type=orm.Dict, help="its provenance.json")
        spec.output("result", valid_type=orm.Dict)
        spec.output("sigma", valid_type=orm.ArrayData)
        spec.output("convergence", valid_type=orm.Dict, required=False)
        spec.exit_code(320, "ERROR_NO_DFT", message="the first-principles pipeline needs GPAW: {message}")
        spec.exit_code(321, "ERROR_BUILD_FAILED", message="building the Wannier data failed: {message}")
        spec.exit_code(301, "ERROR_HALL_FAILED", message="the Hall step failed: {message}")

    def check_dft(self):
        ok, why = dft_available()
        if not ok:
            return self.exit_codes.ERROR_NO_DFT.format(message=why)
        return None

    def build(self):
        kwargs = {"structure": self.inputs.structure, "coarse": self.inputs.coarse}
        if "element" in self.inputs:
            kwargs["element"] = self.inputs.element
        outputs, node, error = _run_step(build_system, self.exit_codes.ERROR_BUILD_FAILED, **kwargs)
        if error is not None:
            return error
        self.ctx.system = outputs["system"]
        self.out("system", outputs["system"])
        self.out("provenance", outputs["provenance"])
        self.report(f"build_system<{node.pk}>: E_F = {outputs['provenance']['E_F_eV']:.4f} eV")
        return None

    def should_converge(self):
        return "converge" in self.inputs

    def run_converge(self):
        inputs = self.exposed_inputs(ConvergeWorkChain, namespace="converge")
        inputs["system"] = self.ctx.system
        if "parameters" in self.inputs:
            inputs["parameters"] = self.inputs.parameters
        return self.to_context(child=self.submit(ConvergeWorkChain, **inputs))

    def run_hall(self):
        kwargs = {"system": self.ctx.system}
        if "parameters" in self.inputs:
            kwargs["parameters"] = self.inputs.parameters
        outputs, _, error = _run_step(hall, self.exit_codes.ERROR_HALL_FAILED, **kwargs)
        if error is not None:
            return error
        self.ctx.hall_outputs = outputs
        return None

    def finalize(self):
        if "child" in self.ctx:
            child = self.ctx.child
            if "result" not in child.outputs:
                why = (f"exit status {child.exit_status}: {child.exit_message}" if child.is_finished
                       else f"{child.process_state.value}: {(child.exception or '').strip().splitlines()[-1:]}")
                return self.exit_codes.ERROR_HALL_FAILED.format(message=f"converge<{child.pk}> {why}")
            outputs = {k: child.outputs[k] for k in ("result", "sigma", "convergence")}
        else:
            outputs = self.ctx.hall_outputs
        for key, node in outputs.items():
            self.out(key, node)
        return None


__all__ = ["ConvergeWorkChain", "FromStructureWorkChain", "convergence_history"]


def _run_step(process, exit_code, **kwargs):
    """Run a calcfunction step; (outputs, node, None) or (None, None, exit code with the reason).

    A crash keeps its traceback on the excepted process node; the WorkChain ends with one line.
    """
    try:
        outputs, node = process.run_get_node(**kwargs)
    except Exception as exc:  # noqa: BLE001 - the step node keeps the traceback (excepted)
        return None, None, exit_code.format(message=_one_line(exc))
    if not node.is_finished_ok:
        return None, None, exit_code.format(message=str(node.exit_message))
    return outputs, node, None
