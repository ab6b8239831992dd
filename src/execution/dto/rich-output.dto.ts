import { ApiProperty, ApiPropertyOptional, type ApiPropertyOptions } from '@nestjs/swagger';
import { DISPLAY_MIME_TYPES } from '../runner/python-runner';

/** A file the program left under ./outputs/ (response.files, and the top level of a failed run's body). */
export class OutputFileDto {
  @ApiProperty({ example: 'chart.png', description: 'Relative to outputs/ (`sub/data.bin`)' })
  path: string;
  @ApiProperty({ example: 16667, description: 'Bytes' })
  size: number;
  @ApiProperty({
    example: 'f2ca1bb6c7e907d06dafe4687e579fce76b37e4e93b7605022da52e6ccc26fd2',
    pattern: '^[0-9a-f]{64}$',
  })
  sha256: string;
  @ApiProperty({ example: 'image/png', description: 'From the name (application/octet-stream when unknown)' })
  media_type: string;
  @ApiPropertyOptional({
    format: 'byte',
    example: 'iVBORw0KGgo=',
    description: 'Base64; absent when the file is past MAX_OUTPUT_FILE_BYTES (then `truncated` is true)',
  })
  content?: string;
  @ApiPropertyOptional({ enum: [true], example: true, description: 'Present (true) when the content was left out' })
  truncated?: boolean;
}

/** One rich output, in the order shown (response.display). */
export class DisplayItemDto {
  @ApiProperty({ enum: DISPLAY_MIME_TYPES, example: 'image/png' })
  mime_type: (typeof DISPLAY_MIME_TYPES)[number];
  @ApiProperty({
    example: 'iVBORw0KGgo=',
    description:
      'image/png: base64; image/svg+xml, text/html, text/markdown, text/plain: the text; application/json: JSON text',
  })
  data: string;
}

/** The fields both a completed run's response and a failed run's body carry. */
export const richOutputProperties: Record<'files' | 'display' | 'display_truncated', ApiPropertyOptions> = {
  files: {
    type: [OutputFileDto] as [typeof OutputFileDto],
    description: 'What the program left under ./outputs/ (at most 1,000 entries)',
  },
  display: {
    type: [DisplayItemDto] as [typeof DisplayItemDto],
    description: 'Plots (matplotlib, PNG), display(obj), and the result when it has a _repr_*_, in the order shown',
  },
  display_truncated: { example: false, description: 'Entries past MAX_DISPLAY_BYTES were dropped' },
};
