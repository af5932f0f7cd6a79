import { describe, expect, it } from "vitest";
import { DriveList, DriveSpecError, parseDriveOption, parseDriveRequest } from "../src/cli/drive-spec.ts";

// Expected behaviour is QEMU 7.2's, checked with qemu-system-x86_64 and
// `info block`: which position each drive took, and which options it refused.

function drives(build: (list: DriveList) => void): { file: string; index: number; snapshot: boolean }[] {
  const list = new DriveList();
  build(list);
  return list.specs().map(({ file, index, snapshot }) => ({ file, index, snapshot }));
}

function refusal(value: string): string {
  try {
    parseDriveRequest(value);
  } catch (e) {
    expect(e).toBeInstanceOf(DriveSpecError);
    return (e as Error).message;
  }
  throw new Error(`'${value}' was accepted`);
}

describe("-drive", () => {
  it("parses QEMU's usual spelling", () => {
    expect(parseDriveOption("file=disk.img,format=raw,index=1", 0)).toEqual({
      file: "disk.img",
      index: 1,
      format: "raw",
      snapshot: false,
      readonly: false,
      media: "disk",
      snapshotGiven: false,
    });
  });

  it("takes nextIndex when no index is given, and accepts if=ide, media=disk, format omitted", () => {
    const spec = parseDriveOption("file=a.img,if=ide,media=disk", 2);
    expect([spec.index, spec.format, spec.media]).toEqual([2, "raw", "disk"]);
  });

  it("',,' is a comma inside the file name", () => {
    expect(parseDriveRequest("file=a,,b.img,format=raw").file).toBe("a,b.img");
    expect(parseDriveRequest("format=raw,file=x,,,,y").file).toBe("x,,y");
  });

  it("booleans: on/off, yes/no, true/false, and a bare key for on", () => {
    expect(parseDriveRequest("file=a,snapshot=on").snapshot).toBe(true);
    expect(parseDriveRequest("file=a,snapshot=yes").snapshot).toBe(true);
    expect(parseDriveRequest("file=a,snapshot").snapshot).toBe(true);
    expect(parseDriveRequest("file=a,snapshot=off").snapshot).toBe(false);
    expect(parseDriveRequest("file=a,readonly=true").readonly).toBe(true);
    expect(parseDriveRequest("file=a").snapshot).toBeUndefined();
  });

  it("bus and unit give index 2 * bus + unit", () => {
    expect(parseDriveRequest("file=a,bus=1,unit=1").index).toBe(3);
    expect(parseDriveRequest("file=a,bus=1").index).toBe(2);
  });

  it("a later key overrides an earlier one, and harmless QEMU keys are accepted", () => {
    expect(parseDriveRequest("file=a,file=b,format=raw,format=raw,cache=writeback,id=d0").file).toBe("b");
  });

  it("refuses other formats, saying raw is what cr3 reads", () => {
    expect(refusal("file=d.qcow2,format=qcow2")).toBe(
      "-drive file=d.qcow2,format=qcow2: format=qcow2 is not supported: cr3 reads raw images only (convert with: qemu-img convert -O raw IMAGE OUT.img)",
    );
  });

  it("refuses if= other than ide, media=cdrom, a missing file=, bad values and unknown keys", () => {
    expect(refusal("file=a,if=virtio")).toMatch(/if=virtio is not supported: cr3 has IDE disks only/);
    expect(refusal("file=a,if=none")).toMatch(/if=none is not supported/);
    expect(refusal("file=a,media=cdrom")).toMatch(/media=cdrom is not supported: cr3 has no CD-ROM drive/);
    expect(refusal("format=raw,index=0")).toMatch(/missing file=/);
    expect(refusal("file=,format=raw")).toMatch(/missing file=/);
    expect(refusal("file=a,snapshot=maybe")).toMatch(/snapshot expects on or off, got 'maybe'/);
    expect(refusal("file=a,index=x")).toMatch(/index needs a number/);
    expect(refusal("file=a,index=4")).toMatch(/index=4 is out of range/);
    expect(refusal("file=a,unit=2")).toMatch(/unit=2 does not exist/);
    expect(refusal("file=a,foo=bar")).toMatch(/option 'foo' is not supported/);
  });

  it("messages are one line", () => {
    for (const bad of ["file=a,format=qcow2", "file=a,if=scsi", "index=1"]) {
      expect(refusal(bad)).not.toContain("\n");
    }
  });
});

describe("DriveList: positions, -hdX and -snapshot", () => {
  it("-hda..-hdd take indexes 0..3", () => {
    expect(
      drives((l) => {
        l.addHd("-hdd", "d");
        l.addHd("-hda", "a");
        l.addHd("--hdc", "c");
        l.addHd("-hdb", "b");
      }).map((d) => [d.file, d.index]),
    ).toEqual([["a", 0], ["b", 1], ["c", 2], ["d", 3]]);
  });

  it("a drive without index takes the lowest free one (QEMU: -hdb e.img -drive file=f.img puts f at 0)", () => {
    expect(
      drives((l) => {
        l.addHd("-hdb", "e.img");
        l.addDrive("file=f.img,format=raw");
        l.addDrive("file=g.img,format=raw");
      }).map((d) => [d.file, d.index]),
    ).toEqual([["f.img", 0], ["e.img", 1], ["g.img", 2]]);
  });

  it("a taken index is refused (QEMU: -drive file=f.img -hda e.img fails)", () => {
    const list = new DriveList();
    list.addDrive("file=f.img,format=raw");
    expect(() => list.addHd("-hda", "e.img")).toThrow("-hda e.img: index 0 is already taken by 'f.img'");
    expect(() => list.addDrive("file=x,index=0")).toThrow(DriveSpecError);
  });

  it("a fifth drive finds no free position", () => {
    const list = new DriveList();
    for (const f of ["a", "b", "c", "d"]) list.addDrive(`file=${f}`);
    expect(() => list.addDrive("file=e")).toThrow(/no free IDE position/);
  });

  it("-snapshot applies to drives that do not say snapshot=off, wherever it appears", () => {
    expect(
      drives((l) => {
        l.addDrive("file=f.img,format=raw,snapshot=off");
        l.addDrive("file=e.img,format=raw");
        l.setSnapshot();
        l.addHd("-hdc", "c.img");
      }),
    ).toEqual([
      { file: "f.img", index: 0, snapshot: false },
      { file: "e.img", index: 1, snapshot: true },
      { file: "c.img", index: 2, snapshot: true },
    ]);
  });

  it("without -snapshot, drives write their files unless snapshot=on", () => {
    expect(
      drives((l) => {
        l.addDrive("file=a,snapshot=on");
        l.addDrive("file=b");
      }).map((d) => d.snapshot),
    ).toEqual([true, false]);
  });

  it("refuses an empty -hda file name", () => {
    expect(() => new DriveList().addHd("-hda", "")).toThrow("-hda needs an image file name");
  });
});
