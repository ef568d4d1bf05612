"""SYNTHETIC benchmark input: a chain of N norm-like blocks (x*x -> ReduceMean -> +eps -> Sqrt -> Div -> Relu, six
nodes each, no value_info), for timing matching and calibration against the node count. Not a fixture; not committed.
  /usr/bin/python3 bench/node_chain.py 33334 /tmp/c200k.onnx   # 200k nodes
"""
from onnx import helper, TensorProto, numpy_helper
import sys, onnx, numpy as np
n_blocks=int(sys.argv[1]); out=sys.argv[2]
nodes=[]; inits=[numpy_helper.from_array(np.array([1e-5],dtype=np.float32),'eps')]
x='x'
for i in range(n_blocks):
    # norm-like block, no value_info: x*x -> ReduceMean -> +eps -> Sqrt -> Div -> Relu
    nodes += [helper.make_node('Mul',[x,x],[f's{i}']),
              helper.make_node('ReduceMean',[f's{i}'],[f'm{i}'],axes=[-1]),
              helper.make_node('Add',[f'm{i}','eps'],[f'a{i}']),
              helper.make_node('Sqrt',[f'a{i}'],[f'r{i}']),
              helper.make_node('Div',[x,f'r{i}'],[f'd{i}']),
              helper.make_node('Relu',[f'd{i}'],[f'y{i}'])]
    x=f'y{i}'
g=helper.make_graph(nodes,'chain',[helper.make_tensor_value_info('x',TensorProto.FLOAT,['N',64])],[helper.make_tensor_value_info(x,TensorProto.FLOAT,None)],inits)
m=helper.make_model(g,opset_imports=[helper.make_opsetid('',13)]); m.ir_version=8
onnx.save(m,out)
