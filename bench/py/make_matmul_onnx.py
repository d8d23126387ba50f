"""A one-node ONNX graph (float32 MatMul, N x N by N x N) so the ceiling can also be measured with ONNX Runtime's
own sgemm (MLAS), which may beat OpenBLAS on this CPU."""
import sys

import onnx
from onnx import TensorProto, helper

n, out = int(sys.argv[1]), sys.argv[2]
a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n])
b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [n, n])
c = helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])
g = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "sgemm", [a, b], [c])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)])
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, out)
