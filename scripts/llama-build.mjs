#!/usr/bin/env node
// Builds llama-server and ggml-rpc-server (GGML_RPC=ON) from the llama.cpp source
// that node-llama-cpp ships as a git bundle, into a per-user cache keyed by that
// source's version. A second run with a finished cache returns at once.
// The last line printed is the folder that contains the binaries.
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync, copyFileSync, chmodSync, writeFileSync, renameSync } from 'node:fs'
import { availableParallelism, homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const llamaDir = join(root, 'node_modules', 'node-llama-cpp', 'llama')
const bundle = join(llamaDir, 'gitRelease.bundle')
const targets = ['llama-server', 'ggml-rpc-server']

function progress(msg) {
  process.stderr.write(`[llama:build] ${msg}\n`)
}

function fail(msg) {
  process.stderr.write(`[llama:build] error: ${msg}\n`)
  process.exit(1)
}

function cacheRoot() {
  const base = process.env.SYNAPTIC_CACHE_DIR?.trim() || join(homedir(), '.cache', 'synaptic-llamas')
  return join(base, 'llama.cpp')
}

function hashFile(path) {
  return new Promise((res, rej) => {
    const h = createHash('sha256')
    createReadStream(path).on('data', (c) => h.update(c)).on('end', () => res(h.digest('hex'))).on('error', rej)
  })
}

function run(cmd, args, opts = {}) {
  return new Promise((res, rej) => {
    progress(`$ ${cmd} ${args.join(' ')}`)
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts })
    let tail = []
    const onData = (chunk) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue
        tail.push(line)
        if (tail.length > 40) tail = tail.slice(-40)
        // build progress lines look like "[ 42%] Building CXX object ..."
        if (/^\[\s*\d+%\]/.test(line) || /error/i.test(line)) progress(line.slice(0, 200))
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('error', rej)
    child.on('close', (code) => {
      if (code === 0) res()
      else rej(new Error(`${cmd} exited with code ${code}\n${tail.join('\n')}`))
    })
  })
}

// llama-server prints `version: ...`; ggml-rpc-server has no --version, so its --help must list --port.
function binaryVersion(path) {
  const rpc = path.endsWith('rpc-server')
  const r = spawnSync(path, [rpc ? '--help' : '--version'], { encoding: 'utf8', timeout: 30_000 })
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`
  if (r.error) return null
  if (rpc) return text.includes('--port') ? 'runs' : null
  const m = /version:\s*(.+)/.exec(text)
  return m ? m[1].trim() : null
}

function validBin(binDir) {
  return targets.every((t) => existsSync(join(binDir, t)) && binaryVersion(join(binDir, t)) !== null)
}

async function main() {
  if (!existsSync(bundle)) fail(`llama.cpp source bundle not found at ${bundle}; run npm install first`)
  const cmake = spawnSync('cmake', ['--version'], { encoding: 'utf8' })
  if (cmake.error) fail('cmake is not installed (needed to build llama.cpp)')

  let tag = 'unknown'
  try {
    tag = JSON.parse(readFileSync(join(llamaDir, 'llama.cpp.info.json'), 'utf8')).tag ?? 'unknown'
  } catch {
    // no info file: the bundle hash alone keys the cache
  }
  const bundleHash = (await hashFile(bundle)).slice(0, 12)
  const key = `${tag.replace(/[^A-Za-z0-9._-]/g, '_')}-${bundleHash}`
  const dir = join(cacheRoot(), key)
  const binDir = join(dir, 'bin')

  if (validBin(binDir)) {
    progress(`cached build ${key} is complete`)
    process.stdout.write(`${binDir}\n`)
    return
  }

  mkdirSync(dir, { recursive: true })
  const src = join(dir, 'src')
  const build = join(dir, 'build')
  if (!existsSync(join(src, 'CMakeLists.txt'))) {
    rmSync(src, { recursive: true, force: true })
    progress(`cloning ${bundle}`)
    await run('git', ['clone', '--quiet', bundle, src])
  }
  const jobs = String(Math.max(1, availableParallelism()))
  await run('cmake', [
    '-S', src, '-B', build,
    '-DCMAKE_BUILD_TYPE=Release',
    '-DGGML_RPC=ON',
    '-DLLAMA_CURL=OFF',
    '-DBUILD_SHARED_LIBS=OFF',
    '-DLLAMA_BUILD_TESTS=OFF',
    '-DLLAMA_BUILD_EXAMPLES=OFF',
    '-DLLAMA_BUILD_APP=OFF',
    '-DLLAMA_BUILD_UI=OFF',
    '-DLLAMA_USE_PREBUILT_UI=OFF',
    '-DLLAMA_BUILD_SERVER=ON',
    '-DLLAMA_BUILD_TOOLS=ON',
  ])
  progress(`building ${targets.join(', ')} with -j ${jobs}`)
  await run('cmake', ['--build', build, '--config', 'Release', '-j', jobs, '--target', ...targets])

  const staging = join(dir, 'bin.partial')
  rmSync(staging, { recursive: true, force: true })
  mkdirSync(staging, { recursive: true })
  for (const t of targets) {
    const built = join(build, 'bin', t)
    if (!existsSync(built)) fail(`build finished but ${built} is missing`)
    copyFileSync(built, join(staging, t))
    chmodSync(join(staging, t), 0o755)
    const v = binaryVersion(join(staging, t))
    if (!v) fail(`${t} was built but does not answer --version`)
    progress(v === 'runs' ? `${t} answers --help (it has no --version)` : `${t} version ${v}`)
  }
  writeFileSync(join(staging, 'build.json'), JSON.stringify({ key, tag, bundleHash, builtAt: new Date().toISOString() }, null, 2))
  rmSync(binDir, { recursive: true, force: true })
  renameSync(staging, binDir)
  process.stdout.write(`${binDir}\n`)
}

main().catch((err) => fail(err instanceof Error ? err.message : String(err)))
