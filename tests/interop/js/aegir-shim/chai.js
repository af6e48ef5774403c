// Stand-in for aegir's 'aegir/chai' export, which the @libp2p/interop suite
// imports. aegir itself (a whole build toolchain) does not install here, so
// this gives the suite what it uses: chai's expect/assert plus the
// equalBytes assertion aegir gets from chai-bites, property assertions
// callable as methods (`.to.exist()`, `.be.ok()`, as chai-parentheses
// allows) and `eventually` for a promise (chai-as-promised, as far as the
// DHT tests use it: `await expect(p).to.eventually.be.ok()`).
import * as chai from 'chai'

function toBytes (value) {
  if (value instanceof Uint8Array) return value
  if (Array.isArray(value)) return Uint8Array.from(value)
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
  }
  return null
}

function hex (bytes) {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

chai.use((lib) => {
  lib.Assertion.addMethod('equalBytes', function (expected) {
    const actual = toBytes(this._obj)
    const want = toBytes(expected)
    new lib.Assertion(actual, 'actual is not bytes').to.not.equal(null)
    new lib.Assertion(want, 'expected is not bytes').to.not.equal(null)
    const same = actual.length === want.length && actual.every((b, i) => b === want[i])
    this.assert(same,
      'expected #{act} to equal bytes #{exp}',
      'expected #{act} to not equal bytes #{exp}',
      hex(want), hex(actual))
  })
})

// `.ok` and `.ok()` both assert: a chainable method whose chaining
// behaviour is chai's own property assertion
chai.use((lib) => {
  for (const name of ['ok', 'exist', 'true', 'false', 'null', 'undefined', 'empty']) {
    const desc = Object.getOwnPropertyDescriptor(lib.Assertion.prototype, name)
    if (desc?.get == null) continue
    delete lib.Assertion.prototype[name]
    lib.Assertion.addChainableMethod(name, function () {}, function () {
      desc.get.call(this)
    })
  }
})

// `expect(promise).to.eventually.X...`: records the chain after
// `eventually` and, when awaited, replays it on the promise's value (a
// rejected promise rejects the await, as chai-as-promised does)
chai.use((lib) => {
  lib.Assertion.addProperty('eventually', function () {
    const promise = Promise.resolve(this._obj)
    const negate = lib.util.flag(this, 'negate') === true
    const steps = []
    const replay = (value) => {
      let a = lib.expect(value)
      if (negate) a = a.not
      for (const step of steps) {
        a = step.args == null ? a[step.name] : a[step.name](...step.args)
      }
      return value
    }
    const chain = new Proxy(function () {}, {
      get (_, prop) {
        if (prop === 'then' || prop === 'catch' || prop === 'finally') {
          const done = promise.then(replay)
          return done[prop].bind(done)
        }
        steps.push({ name: prop, args: null })
        return chain
      },
      apply (_, self, args) {
        steps[steps.length - 1].args = args
        return chain
      }
    })
    return chain
  })
})

export const expect = chai.expect
export const assert = chai.assert
export { chai }
