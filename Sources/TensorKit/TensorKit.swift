// TensorKit module
