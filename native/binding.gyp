{
  "targets": [
    {
      "target_name": "zkml_native",
      "sources": ["src/addon.cc", "src/groth16.cc", "src/groth16_adx.cc"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-pthread", "-fvisibility=hidden"],
      "ldflags": ["-pthread"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
