"""Choose the tf.distribute strategy for a training run (--distribute), tell
whether this process is the chief, and give the other workers a temporary
output folder.

    dist = distribute.setup("auto")              # before any other TensorFlow work
    with dist.scope():
        model = build(...); optimizer = SGD(dist.lr(0.01)); model.compile(...)
    with dist.output_folder("output") as folder:  # "output" on the chief, a temp folder elsewhere
        ...

`--batch-size` is per replica: the global batch of one step is
`batch_size * dist.replicas`. `multiworker` reads the cluster from the
standard TF_CONFIG environment variable, as every TensorFlow launcher sets it.
TensorFlow is imported only by `setup`, so that TF_CONFIG can be checked
before it loads.
"""

import contextlib
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass

from ..utils.errors import UserError

CHOICES = ("auto", "none", "mirrored", "multiworker")
TF_CONFIG_HELP = ("see the README section 'Training on several GPUs or machines' for a two-machine "
                  "example")


def read_tf_config(environ=os.environ):
    """Parse and check TF_CONFIG; return (cluster, task_type, task_index).

    Checked before TensorFlow starts so that a mistake is one line, not a
    hang or a traceback from the gRPC server."""
    raw = environ.get("TF_CONFIG")
    if not raw:
        raise UserError("--distribute multiworker needs the TF_CONFIG environment variable (the "
                        f"cluster's workers and this process's place in it); {TF_CONFIG_HELP}")
    try:
        config = json.loads(raw)
    except ValueError as exc:
        raise UserError(f"TF_CONFIG is not valid JSON ({exc}); {TF_CONFIG_HELP}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise UserError('TF_CONFIG must be a JSON object with "cluster" and "task", like '
                        '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                        f'"task": {{"type": "worker", "index": 0}}}}; {TF_CONFIG_HELP}')
    for job, addresses in cluster.items():
        if job not in ("chief", "worker") or not isinstance(addresses, list) or not addresses \
                or not all(isinstance(a, str) and a.rpartition(":")[2].isdigit() for a in addresses):
            raise UserError(f'TF_CONFIG: cluster "{job}" must be "chief" or "worker" with a list of '
                            f'"host:port" addresses, got {addresses!r}; {TF_CONFIG_HELP}')
    if "worker" not in cluster and "chief" not in cluster:
        raise UserError(f'TF_CONFIG: the cluster lists no "worker"; {TF_CONFIG_HELP}')
    task_type, index = task.get("type"), task.get("index")
    if task_type not in cluster or not isinstance(index, int) or not 0 <= index < len(cluster[task_type]):
        raise UserError(f"TF_CONFIG: task {task!r} is not one of the cluster's "
                        f"{', '.join(f'{j}[0..{len(a) - 1}]' for j, a in cluster.items())}; "
                        f"{TF_CONFIG_HELP}")
    return cluster, task_type, index


def is_chief(cluster, task_type, index):
    """TensorFlow's rule: the "chief" task if the cluster has one, else worker 0."""
    return task_type == "chief" or ("chief" not in cluster and task_type == "worker" and index == 0)


@dataclass
class Distribution:
    strategy: object
    name: str          # "default", "mirrored" or "multiworker"
    chief: bool = True
    worker: int = 0    # this process's position among the workers (chief first)
    workers: int = 1
    scale_lr: bool = False

    @classmethod
    def one_device(cls, scale_lr=False):
        """TensorFlow's default strategy: no distribution."""
        import tensorflow as tf
        return cls(tf.distribute.get_strategy(), "default", scale_lr=scale_lr)

    @property
    def replicas(self):
        return self.strategy.num_replicas_in_sync

    @property
    def replicas_per_worker(self):
        return self.replicas // self.workers

    def scope(self):
        return self.strategy.scope()

    def global_batch(self, per_replica):
        return per_replica * self.replicas

    def steps_per_epoch(self, per_replica, n_images):
        """Global batches in an epoch of `n_images` (the last one may be short)."""
        return math.ceil(n_images / self.global_batch(per_replica))

    def batch_for(self, per_replica, n_images):
        """The per-replica batch size to train `n_images` with: --batch-size,
        or one batch of all the images when it is larger (as Keras does), said
        in an [INFO] line. Under a strategy that would leave some replicas
        without data, so it is an error there."""
        if self.global_batch(per_replica) <= n_images:
            return per_replica
        if self.replicas > 1:
            raise UserError(f"--batch-size {per_replica} x {self.replicas} replicas is larger than "
                            f"the {n_images} training images; pass a smaller --batch-size")
        print(f"[INFO] --batch-size {per_replica} is larger than the {n_images} training images; "
              "using one batch of all of them")
        return n_images

    def lr(self, lr):
        """--lr, or with --scale-lr the linear scaling rule (Goyal et al.,
        2017): the learning rate times the number of replicas, as the global
        batch grows with them."""
        return lr * self.replicas if self.scale_lr else lr

    def describe(self, per_replica):
        """The facts recorded in the sidecar."""
        return {"strategy": type(self.strategy).__name__, "replicas": self.replicas,
                "workers": self.workers, "chief": self.chief,
                "batch_size_per_replica": per_replica,
                "global_batch_size": self.global_batch(per_replica),
                "lr_scale": self.replicas if self.scale_lr else 1}

    def announce(self, per_replica):
        where = f", worker {self.worker} of {self.workers}" + (" (chief)" if self.chief else "") \
            if self.workers > 1 else ""
        print(f"[INFO] {type(self.strategy).__name__}: {self.replicas} replica(s){where}; batch "
              f"size {per_replica} per replica, global batch {self.global_batch(per_replica)}"
              + (f"; --lr scaled x{self.replicas} (--scale-lr)" if self.scale_lr else ""))

    @contextlib.contextmanager
    def output_folder(self, folder):
        """Yield `folder` on the chief. Other workers still write everything
        (saving can involve collective ops every worker must join, as
        TensorFlow's multi-worker guide explains) but into a temporary
        folder, deleted at the end, so only the chief writes to `folder`."""
        if self.chief:
            yield folder
            return
        scratch = tempfile.mkdtemp(prefix=f"pyimagesearch-worker{self.worker}-")
        try:
            yield scratch
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def split_cpu(devices):
    """Show TensorFlow `devices` logical CPUs instead of one, so that
    MirroredStrategy can be tried (and tested) without GPUs. It must run
    before TensorFlow initialises its devices."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(devices)])
    except RuntimeError:
        raise UserError("--cpu-devices must be applied before TensorFlow starts; it cannot be "
                        "used after other TensorFlow work in the same process") from None


def setup(choice="auto", cpu_devices=None, scale_lr=False):
    """Create the strategy for --distribute `choice`; return a Distribution.

    auto: MirroredStrategy over the GPUs when there are several, otherwise
    TensorFlow's default (one device). mirrored: MirroredStrategy over all
    GPUs, or over the logical CPUs of --cpu-devices when there is no GPU.
    multiworker: MultiWorkerMirroredStrategy from TF_CONFIG.
    """
    if choice not in CHOICES:
        raise UserError(f"--distribute must be one of {', '.join(CHOICES)}, got {choice!r}")
    if choice == "multiworker":
        cluster, task_type, index = read_tf_config()
    import tensorflow as tf

    if cpu_devices and cpu_devices > 1:
        split_cpu(cpu_devices)
    gpus = tf.config.list_physical_devices("GPU")
    if choice == "multiworker":
        strategy = _keras_multiworker_strategy()
        # Chief first, then the workers in TF_CONFIG order.
        order = [(job, i) for job in ("chief", "worker") for i in range(len(cluster.get(job, [])))]
        return Distribution(strategy, "multiworker", chief=is_chief(cluster, task_type, index),
                            worker=order.index((task_type, index)), workers=len(order),
                            scale_lr=scale_lr)
    if choice == "mirrored" or (choice == "auto" and len(gpus) > 1):
        cpus = tf.config.list_logical_devices("CPU")
        devices = None if gpus or len(cpus) < 2 else [d.name for d in cpus]
        return Distribution(tf.distribute.MirroredStrategy(devices=devices), "mirrored",
                            scale_lr=scale_lr)
    return Distribution.one_device(scale_lr)


def _keras_multiworker_strategy():
    import tensorflow as tf

    class KerasMultiWorkerStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        """MultiWorkerMirroredStrategy that accepts the reductions Keras 3's
        fit asks for (keras-team/keras#20585): the whole (x, y) batch in one
        call, and per-replica scalar metrics "along axis 0". Both raise in
        TensorFlow 2.21; reducing each value on its own, scalars over no
        axis, is what MirroredStrategy already does."""

        def reduce(self, reduce_op, value, axis=None):
            def one(v):
                first = v.values[0] if isinstance(v, tf.distribute.DistributedValues) else v
                scalar = tf.convert_to_tensor(first).shape.rank == 0
                return super(KerasMultiWorkerStrategy, self).reduce(reduce_op, v,
                                                                    None if scalar else axis)

            return tf.nest.map_structure(one, value)

    return KerasMultiWorkerStrategy()
