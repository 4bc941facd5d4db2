# labor-llm builds its addon with CMake (cmake-js), because llama.cpp is a CMake project: see
# CMakeLists.txt and scripts/build-native.mjs. This file lets tools that look for binding.gyp
# (node-gyp, prebuild tooling) find the package's native target; building it runs the same
# cmake-js build.
{
  "targets": [
    {
      "target_name": "labor_llm",
      "type": "none",
      "actions": [
        {
          "action_name": "cmake_js_build",
          "inputs": ["CMakeLists.txt"],
          "outputs": ["build/Release/labor_llm.node"],
          "action": ["node", "scripts/build-native.mjs"]
        }
      ]
    }
  ]
}
