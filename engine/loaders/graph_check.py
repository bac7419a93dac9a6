"""What a TorchScript or torch.export graph may do when it runs untrusted: pure tensor maths, nothing else.

"TorchScript runs TorchScript operators only" is no safety property: `aten::from_file(path, shared=True)`
writes any file, and other operators reach files, processes or Python. So every operator a graph calls
is checked against `PURE_OPERATORS`, an allowlist of tensor maths (arithmetic, shapes, convolutions,
normalisation, pooling, activations) plus the bookkeeping TorchScript itself emits (constants, lists,
control flow, raising an error). Anything else, a custom namespace, a call that could not be inlined,
a Python callback, needs the same explicit trust as a pickle; the message names the operator.

torch.export archives also carry symbolic shape expressions that torch.export.load hands to sympy;
`expression_problem` parses them with a small bounded grammar first, so `9**9**9` (a hang) or a name
outside sympy's arithmetic never reaches it.
"""

from __future__ import annotations

import re

# Operator base names (no overload, no in-place `_` suffix): `aten::NAME` in TorchScript, and
# `torch.ops.aten.NAME.OVERLOAD` in torch.export graphs.
_MATHS = """
abs absolute acos arccos acosh arccosh asin arcsin asinh arcsinh atan arctan atan2 arctan2 atanh arctanh ceil
clamp clamp_min clamp_max clip cos cosh erf erfc erfinv exp exp2 expm1 floor frac lgamma digamma log log10
log1p log2 logit neg negative reciprocal round rsqrt sigmoid sign sgn sin sinh sinc sqrt square tan tanh
trunc fix nan_to_num isnan isinf isfinite isposinf isneginf logical_not bitwise_not positive deg2rad rad2deg
add sub subtract rsub mul multiply div divide true_divide floor_divide remainder fmod pow float_power
maximum minimum fmax fmin hypot logaddexp logaddexp2 xlogy copysign lerp addcmul addcdiv where masked_fill
masked_scatter masked_select eq ne lt le gt ge greater greater_equal less less_equal not_equal equal
logical_and logical_or logical_xor bitwise_and bitwise_or bitwise_xor bitwise_left_shift bitwise_right_shift
isclose allclose
sum mean prod max min amax amin aminmax argmax argmin std var std_mean var_mean norm linalg_vector_norm
linalg_norm frobenius_norm logsumexp cumsum cumprod cummax cummin all any count_nonzero median nanmedian
mode kthvalue topk sort argsort nansum nanmean dist renorm
view view_as reshape reshape_as _reshape_alias _unsafe_view flatten unflatten squeeze unsqueeze permute
transpose t swapaxes swapdims movedim moveaxis expand expand_as repeat repeat_interleave tile contiguous
clone detach alias cat concat concatenate stack hstack vstack split split_with_sizes chunk tensor_split
unbind narrow select slice index index_select index_put index_add index_copy index_fill _unsafe_index
_unsafe_index_put gather scatter scatter_add scatter_reduce take take_along_dim flip fliplr flipud roll
rot90 diag diagonal diag_embed tril triu nonzero numel size dim stride to _to_copy type_as view_as_real
view_as_complex unfold col2im im2col pixel_shuffle pixel_unshuffle channel_shuffle native_channel_shuffle
broadcast_tensors broadcast_to meshgrid einsum tensordot outer ger kron cross
permute_copy view_copy expand_copy squeeze_copy unsqueeze_copy transpose_copy slice_copy select_copy
t_copy alias_copy unbind_copy split_copy clone_copy
zeros ones full empty empty_strided zeros_like ones_like full_like empty_like new_zeros new_ones new_full
new_empty rand randn rand_like randn_like randint randint_like arange linspace logspace eye scalar_tensor
bernoulli fill zero copy lift_fresh lift_fresh_copy
conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d _convolution convolution linear
bilinear matmul mm bmm addmm addmv addbmm baddbmm mv dot vdot batch_norm native_batch_norm
_native_batch_norm_legit _native_batch_norm_legit_no_training _native_batch_norm_legit_functional
instance_norm layer_norm native_layer_norm group_norm native_group_norm rms_norm
max_pool1d max_pool2d max_pool3d max_pool1d_with_indices max_pool2d_with_indices max_pool3d_with_indices
avg_pool1d avg_pool2d avg_pool3d adaptive_avg_pool1d adaptive_avg_pool2d adaptive_avg_pool3d
_adaptive_avg_pool2d _adaptive_avg_pool3d adaptive_max_pool1d adaptive_max_pool2d adaptive_max_pool3d
upsample_nearest1d upsample_nearest2d upsample_nearest3d upsample_linear1d upsample_bilinear2d
upsample_bicubic2d upsample_trilinear3d _upsample_nearest_exact1d _upsample_nearest_exact2d
_upsample_nearest_exact3d _upsample_bilinear2d_aa _upsample_bicubic2d_aa __interpolate __upsample
__upsample_bilinear __upsample_nearest grid_sampler grid_sampler_2d affine_grid_generator pad
constant_pad_nd reflection_pad1d reflection_pad2d reflection_pad3d replication_pad1d replication_pad2d
replication_pad3d _pad_circular _pad_enum softmax log_softmax _softmax _log_softmax embedding
scaled_dot_product_attention _scaled_dot_product_attention_math _scaled_dot_product_flash_attention_for_cpu
cosine_similarity pairwise_distance cdist one_hot dropout feature_dropout alpha_dropout
feature_alpha_dropout native_dropout relu relu6 leaky_relu elu selu celu gelu silu mish softplus softsign
hardtanh hardsigmoid hardswish hardshrink softshrink tanhshrink threshold prelu _prelu_kernel rrelu glu
log_sigmoid log_sigmoid_forward _log_softmax_backward_data
"""
# What TorchScript emits for Python-level code: numbers, lists, dicts, strings (error messages), checks.
_SCRIPT = """
__getitem__ _set_item len append extend insert pop list copy __contains__ __is__ __isnot__ __not__ __and__
__or__ __xor__ __lshift__ __rshift__ __range_length __derive_index floordiv format str join keys values
items get setdefault Int Float Bool ScalarImplicit IntImplicit FloatImplicit tensor is_floating_point
is_complex _dim_arange _shape_as_tensor _assert_async _assert_scalar _functional_assert_async
_functional_assert_scalar _assert_tensor_metadata sym_size sym_numel sym_stride sym_storage_offset
sym_constrain_range sym_constrain_range_for_size _functional_sym_constrain_range
_functional_sym_constrain_range_for_size item requires_grad detach_ __round_to_zero_floordiv mathremainder
"""
PURE_OPERATORS: frozenset[str] = frozenset((_MATHS + _SCRIPT).split())
# TorchScript's own node kinds that only build values or steer control flow inside the graph.
PURE_PRIM_NODES: frozenset[str] = frozenset("""
Constant GetAttr SetAttr ListConstruct ListUnpack TupleConstruct TupleUnpack TupleIndex TupleSlice
DictConstruct DictIndex If Loop RaiseException Uninitialized unchecked_cast unchecked_unwrap_optional
NumToTensor dtype device layout is_cuda is_cpu is_mps is_xpu is_meta is_sparse is_quantized is_nested shape
min max abs isinstance StringIndex data requires_grad ConstantChunk EnumName EnumValue tolist
""".split())
# torch.export graphs also call Python's operator module and torch's symbolic-int helpers.
PURE_PYTHON_TARGETS: frozenset[str] = frozenset(
    [f"_operator.{n}" for n in ("add", "sub", "mul", "floordiv", "truediv", "mod", "neg", "pos", "pow", "abs",
                                "eq", "ne", "lt", "le", "gt", "ge", "and_", "or_", "not_", "getitem")]
    + [f"torch.{n}" for n in ("sym_int", "sym_float", "sym_max", "sym_min", "sym_not", "sym_sqrt", "sym_ite")]
    + [f"math.{n}" for n in ("ceil", "floor", "trunc", "sqrt")])


def operator_allowed(namespace: str, name: str) -> bool:
    """An `aten` operator on the allowlist, also in its in-place form (`relu_`)."""
    if namespace != "aten":
        return False
    return name in PURE_OPERATORS or (name.endswith("_") and not name.endswith("__")
                                       and name[:-1] in PURE_OPERATORS)


def node_kind_allowed(kind: str) -> bool:
    """A TorchScript node kind ('aten::conv2d', 'prim::If') that may run untrusted."""
    namespace, _, name = kind.partition("::")
    if namespace == "prim":
        return name in PURE_PRIM_NODES
    return operator_allowed(namespace, name)


# ---------------------------------------------------------------------------------------------- TorchScript
def _graph_kinds(graph) -> set[str]:
    kinds: set[str] = set()
    stack = list(graph.nodes())
    while stack:
        node = stack.pop()
        kinds.add(node.kind())
        for block in node.blocks():
            stack.extend(block.nodes())
    return kinds


def script_module_operators(module) -> set[str]:
    """Every node kind in every method and hook of a loaded TorchScript module and its submodules.

    Calls between methods and functions are inlined first, so what each call runs is seen; a call
    that cannot be inlined (an interface) stays a `prim::CallMethod`, which is not on the allowlist.
    """
    import torch

    kinds: set[str] = set()
    functions = []
    for _, sub in module.named_modules():
        c = sub._c
        functions += [c._get_method(name) for name in c._method_names()]
        functions += list(c._get_forward_hooks()) + list(c._get_forward_pre_hooks())
    for function in functions:
        graph = function.graph.copy()
        torch._C._jit_pass_inline(graph)
        kinds |= _graph_kinds(graph)
    return kinds


def script_module_problem(module) -> str | None:
    """The first operator of a TorchScript module that is not pure tensor maths, as words, or None."""
    bad = sorted(kind for kind in script_module_operators(module) if not node_kind_allowed(kind))
    if not bad:
        return None
    more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
    return f"it calls {bad[0]}{more}, which is not on AdvLens's list of pure tensor operators"


# ---------------------------------------------------------------------------------------------- torch.export
_TARGET = re.compile(r"torch\.ops\.(\w+)\.(\w+)(?:\.(\w+))?")


def export_target_problem(target: str) -> str | None:
    """Why a torch.export node target may not run untrusted, or None for pure tensor maths."""
    if target in PURE_PYTHON_TARGETS:
        return None
    match = _TARGET.fullmatch(target)
    if match and operator_allowed(match.group(1), match.group(2)):
        return None
    return f"it calls {target[:80]}, which is not on AdvLens's list of pure tensor operators"


# ---------------------------------------------------------------------------------------------- shape expressions
# The functions torch writes into shape expressions (torch.utils._sympy.functions and sympy's srepr form).
EXPRESSION_FUNCTIONS: frozenset[str] = frozenset({
    "FloorDiv", "ModularIndexing", "Where", "PythonMod", "Mod", "CleanDiv", "CeilToInt", "FloorToInt", "CeilDiv",
    "LShift", "RShift", "IntTrueDiv", "FloatTrueDiv", "TruncToFloat", "TruncToInt", "RoundToInt", "RoundDecimal",
    "ToFloat", "Identity", "Max", "Min", "Abs", "Eq", "Ne", "Lt", "Le", "Gt", "Ge", "And", "Or", "Not", "floor",
    "ceiling", "sqrt", "Symbol", "Integer", "Rational", "Float", "Add", "Mul", "OpaqueUnaryFn_sqrt"})
POWER_FUNCTIONS: frozenset[str] = frozenset({"Pow", "PowByNatural", "FloatPow"})
EXPRESSION_CONSTANTS: frozenset[str] = frozenset({"True", "False", "oo", "zoo", "nan"})
SYMBOL_ASSUMPTIONS: frozenset[str] = frozenset({
    "positive", "negative", "nonnegative", "nonpositive", "nonzero", "zero", "integer", "real", "rational",
    "finite", "infinite", "even", "odd", "commutative"})
MAX_EXPRESSION_CHARS = 2000
MAX_EXPRESSION_DEPTH = 40
MAX_DIGITS = 20  # integer literals: shapes and bounds fit in 64 bits
MAX_EXPONENT = 64
_SYMBOL = re.compile(r"[a-z]+\d+")
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?(?:[eE][+-]?\d{1,3})?)|([A-Za-z_]\w*)|('[a-z]+\d*'|\"[a-z]+\d*\")"
                    r"|(\*\*|//|==|!=|<=|>=|[-+*/%(),<>=&|~]))")


class _Rejected(Exception):
    pass


class _ExpressionParser:
    """Recursive descent over shape arithmetic: symbols, small integers, + - * / // %, comparisons, & | ~,
    calls of the functions above, and powers whose exponent is a literal of at most MAX_EXPONENT, never
    a power of a power. Each parse is bounded by the text's length and MAX_EXPRESSION_DEPTH."""

    def __init__(self, text: str):
        self.tokens: list[tuple[str, str]] = []
        position = 0
        text = text.rstrip()
        while position < len(text):
            match = _TOKEN.match(text, position)
            if not match or match.end() == position:
                raise _Rejected(f"unexpected character {text[position:position + 1]!r}")
            number, word, string, op = match.groups()
            if number is not None:
                if len(number.split(".")[0]) > MAX_DIGITS:
                    raise _Rejected("a number too large for a shape")
                self.tokens.append(("num", number))
            elif word is not None:
                self.tokens.append(("word", word))
            elif string is not None:
                self.tokens.append(("str", string[1:-1]))
            else:
                self.tokens.append(("op", op))
            position = match.end()
        self.index = 0
        self.depth = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise _Rejected(f"expected {value or 'more'}")
        self.index += 1
        return token

    def parse(self) -> None:
        self.expression()
        if self.peek() is not None:
            raise _Rejected(f"unexpected {self.peek()[1]!r}")

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_EXPRESSION_DEPTH:
            raise _Rejected("nested too deeply")

    def expression(self) -> bool:  # returns whether the value contains a power
        self._enter()
        has_power = self.comparison()
        while self.peek() in (("op", "&"), ("op", "|")):
            self.take()
            has_power |= self.comparison()
        self.depth -= 1
        return has_power

    def comparison(self) -> bool:
        has_power = self.sum()
        while self.peek() in (("op", "<"), ("op", ">"), ("op", "<="), ("op", ">="), ("op", "=="), ("op", "!=")):
            self.take()
            has_power |= self.sum()
        return has_power

    def sum(self) -> bool:
        has_power = self.product()
        while self.peek() in (("op", "+"), ("op", "-")):
            self.take()
            has_power |= self.product()
        return has_power

    def product(self) -> bool:
        has_power = self.unary()
        while self.peek() in (("op", "*"), ("op", "/"), ("op", "//"), ("op", "%")):
            self.take()
            has_power |= self.unary()
        return has_power

    def unary(self) -> bool:
        if self.peek() in (("op", "-"), ("op", "+"), ("op", "~")):
            self.take()
            self._enter()
            result = self.unary()
            self.depth -= 1
            return result
        return self.power()

    def power(self) -> bool:
        base_has_power = self.atom()
        if self.peek() == ("op", "**"):
            self.take()
            if base_has_power:
                raise _Rejected("a power of a power")
            self._exponent()
            return True
        return base_has_power

    def _exponent(self) -> None:
        if self.peek() == ("op", "-"):
            self.take()
        kind, value = self.take()
        if kind != "num" or "." in value or "e" in value.lower() or int(value) > MAX_EXPONENT:
            raise _Rejected(f"an exponent other than a whole number up to {MAX_EXPONENT}")

    def atom(self) -> bool:
        kind, value = self.take()
        if kind == "num":
            return False
        if kind == "op" and value == "(":
            has_power = self.expression()
            self.take(")")
            return has_power
        if kind != "word":
            raise _Rejected(f"unexpected {value!r}")
        if self.peek() == ("op", "("):
            return self.call(value)
        if _SYMBOL.fullmatch(value) or value in EXPRESSION_CONSTANTS:
            return False
        raise _Rejected(f"the name {value!r}")

    def call(self, name: str) -> bool:
        self.take("(")
        self._enter()
        if name == "Symbol":
            kind, value = self.take()
            if kind != "str" or not _SYMBOL.fullmatch(value):
                raise _Rejected("a symbol without a shape-symbol name")
            while self.peek() == ("op", ","):
                self.take()
                assumption = self.take()[1]
                if assumption not in SYMBOL_ASSUMPTIONS:
                    raise _Rejected(f"the symbol assumption {assumption!r}")
                self.take("=")
                if self.take()[1] not in ("True", "False"):
                    raise _Rejected("a symbol assumption that is not True or False")
            self.take(")")
            self.depth -= 1
            return False
        if name in POWER_FUNCTIONS:
            if self.expression():
                raise _Rejected("a power of a power")
            self.take(",")
            self._exponent()
            self.take(")")
            self.depth -= 1
            return True
        if name not in EXPRESSION_FUNCTIONS:
            raise _Rejected(f"the function {name!r}")
        has_power = False
        if self.peek() != ("op", ")"):
            has_power |= self.expression()
            while self.peek() == ("op", ","):
                self.take()
                has_power |= self.expression()
        self.take(")")
        self.depth -= 1
        return has_power


def expression_problem(text: str) -> str | None:
    """Why a shape expression may not reach sympy, or None when it is bounded shape arithmetic."""
    if len(text) > MAX_EXPRESSION_CHARS:
        return f"it has a shape expression of {len(text)} characters"
    try:
        _ExpressionParser(text).parse()
    except _Rejected as exc:
        return f"it has a shape expression {text[:60]!r} with {exc}"
    except (ValueError, IndexError, RecursionError):
        return f"it has a shape expression {text[:60]!r} that is not shape arithmetic"
    return None
