"""Test oracle: writes LiLNet (K = 2) and plain ResNet-50 checkpoints with PyTorch, and their eval outputs.

Run by test/onnx/classifier-checkpoints.test.ts through Debian's /usr/bin/python3 (python3-torch). The models
are written here from the published description (torchvision ResNet-50 layout; LiLNet heads, masks and joint
columns), independently of lilnet's TypeScript definitions, so that agreement checks both.

Usage: write_classifiers.py OUTPUT_DIR
"""

import json
import sys
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

VARIANTS = 5


class Bottleneck(nn.Module):
    def __init__(self, in_channels, width, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, width * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(width * 4)
        self.downsample = None
        if stride != 1 or in_channels != width * 4:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, width * 4, 1, stride=stride, bias=False), nn.BatchNorm2d(width * 4)
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut)


class Trunk(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        channels = 64
        for index, (width, blocks, stride) in enumerate([(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]):
            layers = []
            for b in range(blocks):
                layers.append(Bottleneck(channels, width, stride if b == 0 else 1))
                channels = width * 4
            setattr(self, f"layer{index + 1}", nn.Sequential(*layers))

    def features(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layer2(self.layer1(x))
        layer3 = self.layer3(x)
        return layer3, self.layer4(layer3)


class ResNet50(Trunk):
    def __init__(self, classes):
        super().__init__()
        self.fc = nn.Linear(2048, classes)

    def forward(self, x):
        return self.fc(self.features(x)[1].mean(dim=(2, 3)))


def masked(features):
    b, c, s, _ = features.shape
    m = s // 2
    masks = torch.ones(VARIANTS, s, s)
    masks[1, :m, :m] = 0
    masks[2, :m, m:] = 0
    masks[3, m:, :m] = 0
    masks[4, m:, m:] = 0
    return (features.unsqueeze(1) * masks.view(1, VARIANTS, 1, s, s)).reshape(b * VARIANTS, c, s, s)


class LiLNet(Trunk):
    def __init__(self, classes):
        super().__init__()
        joint = VARIANTS * classes
        self.classes = classes
        self.fc3 = nn.Linear(1024, joint)
        self.fc_ens = nn.Linear(2048, 1024)
        self.fc = nn.Linear(1024, joint)
        self.fc_SD = nn.Linear(2048, classes)

    def forward(self, x):
        layer3, layer4 = self.features(x)
        out3 = self.fc3(masked(layer3).mean(dim=(2, 3)))
        out4 = self.fc(self.fc_ens(masked(layer4).mean(dim=(2, 3))))
        sd = self.fc_SD(layer4.mean(dim=(2, 3)))
        b = x.shape[0]
        ag = torch.zeros(b, self.classes)
        for image in range(b):
            for c in range(self.classes):
                for v in range(VARIANTS):
                    row = VARIANTS * image + v
                    ag[image, c] += (out4[row, VARIANTS * c + v] + out3[row, VARIANTS * c + v]) / (2 * VARIANTS)
        single = out4[0::VARIANTS, 0::VARIANTS]
        return ag, single, sd, out4, out3


def randomise_batch_norm(model, generator):
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            n = module.num_features
            module.weight.data = 1 + 0.1 * torch.randn(n, generator=generator)
            module.bias.data = 0.05 * torch.randn(n, generator=generator)
            module.running_mean.data = 0.05 * torch.randn(n, generator=generator)
            module.running_var.data = 0.5 + torch.rand(n, generator=generator)
            module.num_batches_tracked.fill_(3)


def rows(t):
    return t.detach().double().tolist()


def main(out):
    generator = torch.Generator().manual_seed(7)
    torch.manual_seed(7)
    images = torch.randn(2, 3, 224, 224, generator=generator)
    images.numpy().astype("<f4").tofile(f"{out}/inputs.bin")

    lilnet = LiLNet(2)
    randomise_batch_norm(lilnet, generator)
    lilnet.eval()
    prefixed = OrderedDict(("module." + k, v) for k, v in lilnet.state_dict().items())
    torch.save({"epoch": 1, "state_dict": prefixed, "auc": 0.5, "acc": 0.5}, f"{out}/lilnet-k2.pth.tar")

    resnet = ResNet50(2)
    randomise_batch_norm(resnet, generator)
    resnet.eval()
    torch.save(resnet.state_dict(), f"{out}/resnet50-k2.pth")

    with torch.no_grad():
        ag, single, sd, out4, out3 = lilnet(images)
        logits = resnet(images)
    expected = {
        "lilnet": {
            "aggregated_logits": rows(ag),
            "single_logits": rows(single),
            "self_distillation_logits": rows(sd),
            "layer4_joint_logits": rows(out4),
            "layer3_joint_logits": rows(out3),
        },
        "resnet": {"logits": rows(logits)},
    }
    with open(f"{out}/expected.json", "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main(sys.argv[1])
