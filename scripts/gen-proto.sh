#!/bin/sh
# Regenerate the Python modules of the project's .proto files (`make proto`):
# the device plugin API, and the CRI subset the node-path test drives.
# grpcio-tools 1.51 matches Debian 12's python3-grpcio and python3-protobuf; it
# runs from a throwaway venv so the project's venv keeps Debian's packages.
set -eu
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
venv=build/proto-venv
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q grpcio-tools==1.51.1; }
"$venv/bin/python" -m grpc_tools.protoc -I src --python_out=src --grpc_python_out=src \
    src/cdishim/ctl/plugin/v1beta1/api.proto
"$venv/bin/python" -m grpc_tools.protoc -I . --python_out=. --grpc_python_out=. tests/integration/cri/api.proto
echo "regenerated the api_pb2.py and api_pb2_grpc.py modules next to each .proto"
