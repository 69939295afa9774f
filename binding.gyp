{
  # The node-gyp build of native/ (prebuildify's default backend). CMakeLists.txt is the
  # primary build; this one must produce the same addon from the same sources and flags.
  # libtorch comes from the same discovery script (LIBTORCH, then Python's torch, then the
  # system), so both builds always agree on which libtorch they use.
  # Commands in <!(...) run with this file's directory as the working directory.
  'targets': [
    {
      'target_name': 'torchrnn',
      # Every .cc under native/ (like CMake's GLOB_RECURSE), compiled as one translation unit
      # that scripts/gyp-unity.js writes: node-gyp has no precompiled headers, and libtorch's
      # headers cost 30-50 s per translation unit.
      'sources': [
        "<!(node scripts/gyp-unity.js)",
      ],
      'include_dirs': [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        'native',
        '<!@(node scripts/find-libtorch.js --include)',
      ],
      'defines': [
        'NAPI_VERSION=8',
        'NAPI_CPP_EXCEPTIONS',
        'NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS',
        'NODE_ADDON_API_DISABLE_DEPRECATED',
        # What find_package(Torch) adds: TORCH_CXX_FLAGS (the libstdc++ ABI libtorch was built
        # with: 1 for Debian's libtorch, 0 for older pip wheels) and torch_cpu's interface
        # definitions (USE_DISTRIBUTED etc. change class layouts in torch's headers, so they
        # must match the library). Read from the discovered libtorch's CMake files.
        "<!@(node -e \"const f=require('./scripts/find-libtorch.js').findLibtorch().found;if(!f){process.exit(1)}const fs=require('fs'),p=require('path');const rd=(x)=>{try{return fs.readFileSync(x,'utf8')}catch(e){return ''}};const abi=rd(p.join(f.cmakeDir,'TorchConfig.cmake')).match(/_GLIBCXX_USE_CXX11_ABI=([01])/);const t=rd(p.join(f.cmakeDir,'..','Caffe2','Caffe2Targets.cmake'));const m=t.slice(t.indexOf('torch_cpu PROPERTIES')).match(/INTERFACE_COMPILE_DEFINITIONS \\x22([^\\x22]*)\\x22/);console.log(['_GLIBCXX_USE_CXX11_ABI='+(abi?abi[1]:'1')].concat(m?m[1].split(';').filter(d=>/^[A-Za-z_][A-Za-z0-9_]*(=[A-Za-z0-9_]*)?$/.test(d)):[]).join(' '))\")",
      ],
      # -idirafter: a stand-in for a header that reducer.hpp includes and some libtorch packages
      # lack (see native/distributed/compat), searched last so that a real one wins.
      'cflags_cc': ['-std=c++17', '-fexceptions', '-frtti', '-idirafter', '<(module_root_dir)/native/distributed/compat'],
      # node's common.gypi builds addons with -fno-exceptions -fno-rtti -std=gnu++17; libtorch
      # needs exceptions and RTTI, and node-addon-api's C++ exceptions need exceptions.
      'cflags_cc!': ['-fno-exceptions', '-fno-rtti', '-std=gnu++17'],
      'cflags!': ['-fno-exceptions'],
      'libraries': [
        '-L<!(node scripts/find-libtorch.js --libdir)',
        # libtorch registers its operators from static initializers: keep the libraries
        # even where the toolchain defaults to --as-needed (Ubuntu), as TorchConfig.cmake does.
        '-Wl,--no-as-needed',
        '-ltorch',
        '-ltorch_cpu',
        '-lc10',
      ],
      'ldflags': [
        # Find libtorch at run time without LD_LIBRARY_PATH. DT_RPATH (not RUNPATH) also
        # applies to libtorch's own dependencies, as in the CMake build.
        '-Wl,-rpath,<!(node scripts/find-libtorch.js --libdir)',
        '-Wl,--disable-new-dtags',
      ],
      'xcode_settings': {
        'GCC_ENABLE_CPP_EXCEPTIONS': 'YES',
        'GCC_ENABLE_CPP_RTTI': 'YES',
        'CLANG_CXX_LANGUAGE_STANDARD': 'c++17',
        'OTHER_CPLUSPLUSFLAGS': ['-idirafter', '<(module_root_dir)/native/distributed/compat'],
        'MACOSX_DEPLOYMENT_TARGET': '10.15',
        'OTHER_LDFLAGS': ['-Wl,-rpath,<!(node scripts/find-libtorch.js --libdir)'],
      },
    },
  ],
}
