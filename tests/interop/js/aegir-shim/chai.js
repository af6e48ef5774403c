// Stand-in for aegir's 'aegir/chai' export, which the @libp2p/interop suite
// imports. aegir itself (a whole build toolchain) does not install here, so
// this gives the suite what it uses: chai's expect/assert plus the
// equalBytes assertion aegir gets from chai-bites.
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

export const expect = chai.expect
export const assert = chai.assert
export { chai }
