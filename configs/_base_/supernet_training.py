# Training a single-path super-network (Sun et al., Sec. 3.2): DepthSamplingHook draws
# S_i ~ U[1, N_i] per stage every iteration from (seed, iteration), the same on every rank, and
# sets the deepest subnet for validation. Blocks past the sampled depth get no gradient in that
# iteration; DDP must expect that.
custom_hooks = [dict(type='DepthSamplingHook')]
find_unused_parameters = True
# A step that trains several subnets (SupernetClassifier's train_subnets) reduces their summed
# gradients once, with the last backward; other models train as with mmengine's wrapper.
model_wrapper_cfg = dict(type='SupernetDDP', broadcast_buffers=False,
                         find_unused_parameters=True)
