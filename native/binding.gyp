{
  "variables": {
    "libtorch_include_dirs%": "/usr/include /usr/include/torch/csrc/api/include",
    "libtorch_lib_dir%": ""
  },
  "targets": [
    {
      "target_name": "lilnet_torch",
      "sources": ["src/addon.cc", "src/allocator.cc", "src/tensor.cc", "src/ops.cc", "src/autograd.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "<@(libtorch_include_dirs)"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter"],
      "conditions": [
        [
          "libtorch_lib_dir!=''",
          {
            "libraries": [
              "-L<(libtorch_lib_dir)",
              "-Wl,-rpath,<(libtorch_lib_dir)",
              "-Wl,--no-as-needed",
              "-ltorch",
              "-ltorch_cpu",
              "-lc10",
              "-Wl,--as-needed"
            ]
          },
          {
            "libraries": ["-Wl,--no-as-needed", "-ltorch", "-ltorch_cpu", "-lc10", "-Wl,--as-needed"]
          }
        ]
      ]
    }
  ]
}
