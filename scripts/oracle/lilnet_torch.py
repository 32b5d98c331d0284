"""LiLNet and ResNet-50 in PyTorch: the independent oracle of lilnet's libtorch tests and benchmark.

The networks are rebuilt here with plain torch.nn modules (no torchvision) from the model description, so
that tests can compare the TypeScript models with PyTorch itself. Only tests and benchmarks run this file,
through Debian's /usr/bin/python3 with python3-torch; the product never needs Python.

Usage (each prints one JSON document on stdout):
  lilnet_torch.py bench --batch 4 --threads 2 --warmup 1 --steps 3 [--width 64] [--size 224]
      times forward + loss + backward + SGD step of LiLNet on random inputs
  lilnet_torch.py outputs CHECKPOINT INPUTS.bin N [--threads 1]
      eval-mode outputs of a lilnet training checkpoint (LILNETCK format) on N float32 NCHW 224 images
  lilnet_torch.py reference-gradients CHECKPOINT.pth.tar INPUTS.bin
      loss and selected gradient norms of the reference checkpoint on its six inputs
"""
import argparse
import json
import struct
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

VARIANTS = 5


class Bottleneck(nn.Module):
    def __init__(self, in_channels, width, stride, downsample):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, width * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(width * 4)
        self.downsample = (
            nn.Sequential(nn.Conv2d(in_channels, width * 4, 1, stride=stride, bias=False), nn.BatchNorm2d(width * 4))
            if downsample
            else None
        )

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


def stage(in_channels, width, blocks, stride):
    layers = [Bottleneck(in_channels, width, stride, True)]
    layers += [Bottleneck(width * 4, width, 1, False) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


def variant_masks(size):
    m = size // 2
    masks = torch.ones(VARIANTS, size, size)
    masks[1, :m, :m] = 0
    masks[2, :m, m:] = 0
    masks[3, m:, :m] = 0
    masks[4, m:, m:] = 0
    return masks.view(1, VARIANTS, 1, size, size)


def mask_variants(features):
    _, c, h, w = features.shape
    return (features.view(-1, 1, c, h, w) * variant_masks(h)).view(-1, c, h, w)


class Trunk(nn.Module):
    def __init__(self, width, blocks):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.layer1 = stage(width, width, blocks[0], 1)
        self.layer2 = stage(width * 4, width * 2, blocks[1], 2)
        self.layer3 = stage(width * 8, width * 4, blocks[2], 2)
        self.layer4 = stage(width * 16, width * 8, blocks[3], 2)

    def layers3_and_4(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        l3 = self.layer3(self.layer2(self.layer1(x)))
        return l3, self.layer4(l3)


class Lilnet(Trunk):
    def __init__(self, classes, width=64, blocks=(3, 4, 6, 3)):
        super().__init__(width, blocks)
        self.classes = classes
        joint = VARIANTS * classes
        self.fc3 = nn.Linear(width * 16, joint)
        self.fc_ens = nn.Linear(width * 32, width * 16)
        self.fc = nn.Linear(width * 16, joint)
        self.fc_SD = nn.Linear(width * 32, classes)

    def forward(self, x):
        l3, l4 = self.layers3_and_4(x)
        out3 = self.fc3(mask_variants(l3).mean((2, 3)))
        out4 = self.fc(self.fc_ens(mask_variants(l4).mean((2, 3))))
        sd = self.fc_SD(l4.mean((2, 3)))
        diagonal = torch.eye(VARIANTS).view(1, VARIANTS, 1, VARIANTS)
        both = (out4 + out3).view(-1, VARIANTS, self.classes, VARIANTS)
        aggregated = (both * diagonal).sum((1, 3)) / (2 * VARIANTS)
        return out4, out3, sd, aggregated


class ResnetClassifier(Trunk):
    def __init__(self, classes, width=64, blocks=(3, 4, 6, 3)):
        super().__init__(width, blocks)
        self.fc = nn.Linear(width * 32, classes)

    def forward(self, x):
        return self.fc(self.layers3_and_4(x)[1].mean((2, 3)))


def lilnet_loss(model, images, labels, temperature=3.0):
    out4, out3, sd, aggregated = model(images)
    joint = (VARIANTS * labels.view(-1, 1) + torch.arange(VARIANTS).view(1, -1)).view(-1)
    p = F.softmax(aggregated.detach() / temperature, 1)
    kl = F.kl_div(F.log_softmax(sd / temperature, 1), p, reduction="batchmean") * temperature**2
    return F.cross_entropy(out4, joint) + F.cross_entropy(out3, joint) + kl + F.cross_entropy(sd, labels)


def read_lilnet_checkpoint(path):
    """Reads the LILNETCK training checkpoint format: magic, version, header length, JSON header, data."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"LILNETCK":
        raise ValueError(f"{path} is not a lilnet training checkpoint")
    version, header_length = struct.unpack_from("<II", data, 8)
    if version != 1:
        raise ValueError(f"unknown checkpoint version {version}")
    header = json.loads(data[16 : 16 + header_length].decode("utf8"))
    start = (16 + header_length + 63) // 64 * 64
    state = {}
    for entry in header["tensors"]:
        if entry["group"] != "state":
            continue
        offset = start + entry["offset"]
        values = torch.frombuffer(bytearray(data[offset : offset + entry["byteLength"]]), dtype=torch.float32)
        state[entry["name"]] = values.view(entry["shape"]).clone()
    return header["model"], state


def build_model(config):
    trunk = config["trunk"]
    cls = Lilnet if config["architecture"] == "lilnet" else ResnetClassifier
    return cls(config["numClasses"], trunk["baseWidth"], tuple(trunk["blocksPerStage"]))


def outputs(args):
    torch.set_num_threads(args.threads)
    config, state = read_lilnet_checkpoint(args.checkpoint)
    model = build_model(config)
    # Strict loading except for the batch counters, which lilnet does not store.
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"missing {missing}, unexpected {unexpected}")
    model.eval()
    images = torch.from_file(args.inputs, size=args.count * 3 * 224 * 224, dtype=torch.float32)
    images = images.view(args.count, 3, 224, 224)
    with torch.no_grad():
        result = model(images)
    if config["architecture"] == "lilnet":
        out4, out3, sd, aggregated = result
        single = out4.view(-1, VARIANTS, config["numClasses"], VARIANTS)[:, 0, :, 0]
        document = {"aggregated_logits": aggregated, "single_logits": single, "self_distillation_logits": sd,
                    "layer4_joint_logits": out4, "layer3_joint_logits": out3}
    else:
        document = {"logits": result}
    print(json.dumps({k: v.tolist() for k, v in document.items()}))


def benchmark(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = Lilnet(args.classes, args.width).train()
    optimiser = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    images = torch.randn(args.batch, 3, args.size, args.size)
    labels = torch.arange(args.batch) % args.classes

    def step():
        optimiser.zero_grad(set_to_none=True)
        lilnet_loss(model, images, labels).backward()
        optimiser.step()

    for _ in range(args.warmup):
        step()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = time.perf_counter() - start
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "seconds": seconds,
                      "images_per_second": args.batch * args.steps / seconds}))


def reference_gradients(args):
    torch.set_num_threads(args.threads)
    checkpoint = torch.load(args.checkpoint, map_location="cpu")
    state = {k[len("module."):]: v for k, v in checkpoint["state_dict"].items()}
    model = Lilnet(3).train()
    model.load_state_dict(state)
    images = torch.from_file(args.inputs, size=6 * 3 * 224 * 224, dtype=torch.float32).view(6, 3, 224, 224)
    loss = lilnet_loss(model, images, torch.tensor([0, 1, 2, 2, 1, 0]))
    loss.backward()
    params = dict(model.named_parameters())
    names = ["conv1.weight", "bn1.weight", "layer1.0.conv1.weight", "layer3.5.conv3.weight", "fc_ens.weight"]
    print(json.dumps({"loss": loss.item(), **{n: params[n].grad.norm().item() for n in names}}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    bench = commands.add_parser("bench")
    bench.add_argument("--batch", type=int, default=4)
    bench.add_argument("--threads", type=int, default=2)
    bench.add_argument("--warmup", type=int, default=1)
    bench.add_argument("--steps", type=int, default=3)
    bench.add_argument("--width", type=int, default=64)
    bench.add_argument("--size", type=int, default=224)
    bench.add_argument("--classes", type=int, default=3)
    bench.set_defaults(run=benchmark)
    out = commands.add_parser("outputs")
    out.add_argument("checkpoint")
    out.add_argument("inputs")
    out.add_argument("count", type=int)
    out.add_argument("--threads", type=int, default=1)
    out.set_defaults(run=outputs)
    grads = commands.add_parser("reference-gradients")
    grads.add_argument("checkpoint")
    grads.add_argument("inputs")
    grads.add_argument("--threads", type=int, default=1)
    grads.set_defaults(run=reference_gradients)
    arguments = parser.parse_args()
    arguments.run(arguments)
