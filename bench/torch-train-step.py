"""LiLNet training step in PyTorch, the comparison point of bench/torch-train-step.bench.ts.

Builds the same network as src/nn/lilnet.ts with plain torch.nn modules (no torchvision), then times
forward + loss + backward + SGD step on random inputs. Prints one JSON line on stdout.
Usage: python3 bench/torch-train-step.py --batch 4 --threads 2 --warmup 1 --steps 3 [--width 64] [--size 224]
       python3 bench/torch-train-step.py --check-reference CHECKPOINT INPUTS.bin   (prints gradient norms)
"""
import argparse
import json
import math
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


class Lilnet(nn.Module):
    def __init__(self, classes, width=64):
        super().__init__()
        self.classes = classes
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.layer1 = stage(width, width, 3, 1)
        self.layer2 = stage(width * 4, width * 2, 4, 2)
        self.layer3 = stage(width * 8, width * 4, 6, 2)
        self.layer4 = stage(width * 16, width * 8, 3, 2)
        joint = VARIANTS * classes
        self.fc3 = nn.Linear(width * 16, joint)
        self.fc_ens = nn.Linear(width * 32, width * 16)
        self.fc = nn.Linear(width * 16, joint)
        self.fc_SD = nn.Linear(width * 32, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layer2(self.layer1(x))
        l3 = self.layer3(x)
        l4 = self.layer4(l3)
        out3 = self.fc3(mask_variants(l3).mean((2, 3)))
        out4 = self.fc(self.fc_ens(mask_variants(l4).mean((2, 3))))
        sd = self.fc_SD(l4.mean((2, 3)))
        diagonal = torch.eye(VARIANTS).view(1, VARIANTS, 1, VARIANTS)
        both = (out4 + out3).view(-1, VARIANTS, self.classes, VARIANTS)
        aggregated = (both * diagonal).sum((1, 3)) / (2 * VARIANTS)
        return out4, out3, sd, aggregated


def lilnet_loss(model, images, labels, temperature=3.0):
    out4, out3, sd, aggregated = model(images)
    joint = (VARIANTS * labels.view(-1, 1) + torch.arange(VARIANTS).view(1, -1)).view(-1)
    p = F.softmax(aggregated.detach() / temperature, 1)
    kl = F.kl_div(F.log_softmax(sd / temperature, 1), p, reduction="batchmean") * temperature**2
    return F.cross_entropy(out4, joint) + F.cross_entropy(out3, joint) + kl + F.cross_entropy(sd, labels)


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


def check_reference(args):
    torch.set_num_threads(args.threads)
    checkpoint = torch.load(args.check_reference[0], map_location="cpu")
    state = {k[len("module."):]: v for k, v in checkpoint["state_dict"].items()}
    model = Lilnet(3).train()
    model.load_state_dict(state)
    images = torch.from_file(args.check_reference[1], size=6 * 3 * 224 * 224, dtype=torch.float32).view(6, 3, 224, 224)
    loss = lilnet_loss(model, images, torch.tensor([0, 1, 2, 2, 1, 0]))
    loss.backward()
    params = dict(model.named_parameters())
    names = ["conv1.weight", "bn1.weight", "layer1.0.conv1.weight", "layer3.5.conv3.weight", "fc_ens.weight"]
    print(json.dumps({"loss": loss.item(), **{n: params[n].grad.norm().item() for n in names}}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--classes", type=int, default=3)
    parser.add_argument("--check-reference", nargs=2)
    arguments = parser.parse_args()
    if arguments.check_reference:
        check_reference(arguments)
    else:
        benchmark(arguments)
