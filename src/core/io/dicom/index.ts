/**
 * DICOM, as the rest of the app sees it: reading image series and SEG objects, and writing SEG. Files in
 * core/io import the module they need directly, never this index (a reader must not pull in the writer).
 */
export { isDicom, parseDicomFile, type ParsedDicom } from './parse';
export type { FrameDecoder } from './pixels';
export { readDicomSeg, type SegGrid } from './seg';
export { segUids, writeDicomSeg, type SegCode, type SegSegment, type WriteSegParams } from './seg-write';
export { readDicomSeries, type DicomReadError, type DicomReadOptions, type DicomSeries } from './series';
